"""Models for a multi-tenant task tracker: workspaces, projects, tasks, subtasks and labels."""

from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "pk": "pk_%(table_name)s",
            "fk": "fk_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        }
    )


task_labels = Table(
    "s5_3_ex_task_labels",
    Base.metadata,
    Column("task_id", ForeignKey("s5_3_ex_tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("s5_3_ex_labels.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "label_id"),
)


class Workspace(Base):
    """A tenant. Deleting one removes everything it owns."""

    __tablename__ = "s5_3_ex_workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    projects: Mapped[list["Project"]] = relationship(
        back_populates="workspace", cascade="all, delete-orphan", passive_deletes=True
    )
    labels: Mapped[list["Label"]] = relationship(
        back_populates="workspace", cascade="all, delete-orphan", passive_deletes=True
    )


class Project(Base):
    """A project inside one workspace; its name is unique within that workspace."""

    __tablename__ = "s5_3_ex_projects"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("s5_3_ex_workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    workspace: Mapped[Workspace] = relationship(back_populates="projects")
    tasks: Mapped[list["Task"]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )


class Task(Base):
    """A task in a project; a task may have a parent task (subtasks) and any number of labels."""

    __tablename__ = "s5_3_ex_tasks"
    __table_args__ = (CheckConstraint("estimate_hours >= 0", name="estimate_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("s5_3_ex_projects.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("s5_3_ex_tasks.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    estimate_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    project: Mapped[Project] = relationship(back_populates="tasks")
    parent: Mapped["Task | None"] = relationship(back_populates="subtasks", remote_side=[id])
    subtasks: Mapped[list["Task"]] = relationship(
        back_populates="parent", cascade="all, delete-orphan", passive_deletes=True
    )
    labels: Mapped[list["Label"]] = relationship(
        secondary=task_labels, back_populates="tasks", passive_deletes=True
    )


class Label(Base):
    """A label defined per workspace and attached to many tasks."""

    __tablename__ = "s5_3_ex_labels"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("s5_3_ex_workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(50))
    workspace: Mapped[Workspace] = relationship(back_populates="labels")
    tasks: Mapped[list[Task]] = relationship(
        secondary=task_labels, back_populates="labels", passive_deletes=True
    )


def reset_schema(engine: Engine) -> None:
    """Drop every table of this schema that exists, then create them all again."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)

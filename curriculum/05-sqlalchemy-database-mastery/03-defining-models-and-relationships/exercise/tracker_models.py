"""Models for a multi-tenant task tracker: workspaces, projects, tasks, subtasks and labels.

instructions.md holds the full specification: every table name, column, constraint, index
and relationship the tests expect. Table names and the naming convention are given; keep them.
"""

from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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


# TODO: task_labels, a Core Table named "s5_3_ex_task_labels" on Base.metadata:
#   task_id -> s5_3_ex_tasks.id and label_id -> s5_3_ex_labels.id, both ON DELETE CASCADE,
#   together the composite primary key, plus an index on label_id.


class Workspace(Base):
    """A tenant. Deleting one removes everything it owns."""

    __tablename__ = "s5_3_ex_workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    # TODO: slug (at most 50 characters, unique), name (at most 200 characters).
    # TODO: projects and labels: collections that own their rows and let the database cascade.


class Project(Base):
    """A project inside one workspace; its name is unique within that workspace."""

    __tablename__ = "s5_3_ex_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    # TODO: workspace_id (FK, ON DELETE CASCADE), name (at most 200 characters).
    # TODO: the (workspace_id, name) unique constraint.
    # TODO: workspace (many-to-one) and tasks (a collection that owns its rows).


class Task(Base):
    """A task in a project; a task may have a parent task (subtasks) and any number of labels."""

    __tablename__ = "s5_3_ex_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    # TODO: project_id and parent_id (both FKs, ON DELETE CASCADE, indexed; parent_id nullable).
    # TODO: title (at most 300 characters), estimate_hours (NUMERIC(6, 2), optional, never < 0).
    # TODO: project, parent / subtasks (self-referential), labels (many-to-many).


class Label(Base):
    """A label defined per workspace and attached to many tasks."""

    __tablename__ = "s5_3_ex_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    # TODO: workspace_id (FK, ON DELETE CASCADE), name (at most 50 characters),
    #   unique per workspace; workspace (many-to-one) and tasks (many-to-many).


def reset_schema(engine: Engine) -> None:
    """Drop every table of this schema that exists, then create them all again."""
    # TODO: two calls on Base.metadata.
    raise NotImplementedError

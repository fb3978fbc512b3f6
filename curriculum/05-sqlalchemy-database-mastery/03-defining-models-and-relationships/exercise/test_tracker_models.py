"""Behavioural tests for tracker_models, run against a real PostgreSQL."""

import os
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import create_engine, delete, func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from tracker_models import Base, Label, Project, Task, Workspace, reset_schema

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
TABLES = {
    "s5_3_ex_workspaces",
    "s5_3_ex_projects",
    "s5_3_ex_tasks",
    "s5_3_ex_labels",
    "s5_3_ex_task_labels",
}


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL)
    reset_schema(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def count(session: Session, table: str) -> int:
    return session.execute(
        select(func.count()).select_from(Base.metadata.tables[table])
    ).scalar_one()


def violated_constraint(error: IntegrityError) -> str | None:
    assert isinstance(error.orig, psycopg.Error)
    return error.orig.diag.constraint_name


def new_project(session: Session, slug: str = "acme", name: str = "Billing") -> Project:
    project = Project(name=name, workspace=Workspace(slug=slug, name=slug.title()))
    session.add(project)
    session.flush()
    return project


def new_label(project: Project, name: str) -> Label:
    label = Label(name=name)
    project.workspace.labels.append(label)
    return label


def test_reset_schema_recreates_all_five_tables_empty_and_can_run_twice(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Workspace(slug="leftover", name="Left over by a crashed run"))
        session.commit()
    reset_schema(engine)  # the fixture already ran it once: a second run must not fail
    present = set(inspect(engine).get_table_names()) & TABLES
    assert present == TABLES, f"expected exactly these tables, missing: {TABLES - present}"
    with Session(engine) as session:
        assert count(session, "s5_3_ex_workspaces") == 0, (
            "reset_schema must drop the existing tables before creating them; create_all() "
            "alone skips tables that already exist and keeps their rows"
        )


def test_project_names_are_unique_per_workspace_but_reusable_across_workspaces(
    session: Session,
) -> None:
    project = new_project(session, slug="acme", name="Billing")
    new_project(session, slug="globex", name="Billing")  # another tenant: allowed
    session.add(Project(name="Billing", workspace=project.workspace))
    with pytest.raises(IntegrityError) as caught:
        session.flush()
    assert violated_constraint(caught.value) == "uq_s5_3_ex_projects_workspace_id_name", (
        "a second 'Billing' in the same workspace must hit the (workspace_id, name) unique "
        "constraint, named by the naming convention"
    )


def test_a_task_without_a_title_is_rejected_by_the_database(session: Session) -> None:
    project = new_project(session)
    project.tasks.append(Task())
    with pytest.raises(IntegrityError, match="not-null"):
        session.flush()


def test_a_negative_estimate_is_rejected_by_a_named_check_constraint(session: Session) -> None:
    project = new_project(session)
    project.tasks.append(Task(title="Draft spec", estimate_hours=Decimal("-1")))
    with pytest.raises(IntegrityError) as caught:
        session.flush()
    assert violated_constraint(caught.value) == "ck_s5_3_ex_tasks_estimate_non_negative", (
        "estimate_hours needs CheckConstraint('estimate_hours >= 0', name='estimate_non_negative')"
    )


def test_an_estimate_is_rounded_to_two_decimal_places(session: Session) -> None:
    project = new_project(session)
    task = Task(title="Review", estimate_hours=Decimal("1.255"))
    project.tasks.append(task)
    session.commit()
    session.expire_all()
    assert task.estimate_hours == Decimal("1.26"), (
        f"got {task.estimate_hours!r}: NUMERIC(6, 2) stores exactly two decimal places and "
        "rounds 1.255 to 1.26; a NUMERIC without scale or a float column keeps 1.255"
    )


def test_an_estimate_above_9999_99_hours_is_rejected(session: Session) -> None:
    project = new_project(session)
    project.tasks.append(Task(title="Rewrite everything", estimate_hours=Decimal("10000")))
    with pytest.raises(DataError, match="numeric field overflow"):
        session.flush()


def test_removing_a_task_from_its_project_deletes_the_row(session: Session) -> None:
    project = new_project(session)
    keep, drop = Task(title="Keep"), Task(title="Drop")
    project.tasks.extend([keep, drop])
    session.commit()
    project.tasks.remove(drop)
    session.commit()
    assert session.scalars(select(Task.title)).all() == ["Keep"], (
        "a task removed from project.tasks is an orphan: cascade='all, delete-orphan' deletes it "
        "(without it the ORM sets project_id to NULL and the NOT NULL constraint fails)"
    )


def test_removing_a_subtask_from_its_parent_deletes_the_row(session: Session) -> None:
    project = new_project(session)
    epic, step = Task(title="Invoice export"), Task(title="CSV writer")
    project.tasks.extend([epic, step])
    epic.subtasks.append(step)
    session.commit()
    epic.subtasks.remove(step)
    session.commit()
    assert session.scalars(select(Task.title)).all() == ["Invoice export"], (
        "a subtask removed from task.subtasks must be deleted, not kept as a top-level task: "
        "Task.subtasks needs cascade='all, delete-orphan'"
    )


def test_parent_and_subtasks_are_two_views_of_one_foreign_key(session: Session) -> None:
    project = new_project(session)
    epic, step = Task(title="Invoice export"), Task(title="CSV writer")
    project.tasks.extend([epic, step])
    step.parent = epic
    assert epic.subtasks == [step], "back_populates must update epic.subtasks before any flush"
    session.commit()
    session.expire_all()
    assert step.parent is epic and step.parent_id == epic.id
    assert epic.parent is None, "the top-level task has no parent (remote_side=[id] on parent)"


def test_deleting_a_parent_task_in_sql_deletes_its_subtasks(session: Session) -> None:
    project = new_project(session)
    epic, middle, child = Task(title="Epic"), Task(title="Middle"), Task(title="Child")
    project.tasks.extend([epic, middle, child])
    middle.parent, child.parent = epic, middle
    session.commit()
    session.execute(delete(Task).where(Task.id == epic.id))
    session.commit()
    assert count(session, "s5_3_ex_tasks") == 0, (
        "parent_id needs ondelete='CASCADE' so the database removes the whole subtree"
    )


def test_deleting_a_workspace_in_sql_cascades_to_everything_it_owns(session: Session) -> None:
    project = new_project(session)
    label = new_label(project, "urgent")
    project.tasks.append(Task(title="Ship", labels=[label]))
    session.commit()
    try:
        session.execute(delete(Workspace))
        session.commit()
    except IntegrityError as exc:
        pytest.fail(
            f"deleting the workspace hit {violated_constraint(exc)}: that foreign key needs "
            "ondelete='CASCADE'"
        )
    left = {table: count(session, table) for table in sorted(TABLES)}
    assert set(left.values()) == {0}, f"every FK needs ON DELETE CASCADE; rows left: {left}"


def test_a_label_is_shared_by_many_tasks_and_a_task_has_many_labels(session: Session) -> None:
    project = new_project(session)
    urgent = new_label(project, "urgent")
    backend = new_label(project, "backend")
    project.tasks.append(Task(title="Fix export", labels=[urgent, backend]))
    project.tasks.append(Task(title="Fix import", labels=[urgent]))
    session.commit()
    session.expire_all()
    assert sorted(task.title for task in urgent.tasks) == ["Fix export", "Fix import"]
    assert count(session, "s5_3_ex_task_labels") == 3, "one association row per (task, label)"


def test_unlinking_a_label_deletes_only_the_association_row(session: Session) -> None:
    project = new_project(session)
    urgent = new_label(project, "urgent")
    task = Task(title="Fix export")
    project.tasks.append(task)
    task.labels.append(urgent)
    session.commit()
    task.labels.remove(urgent)
    session.commit()
    assert count(session, "s5_3_ex_task_labels") == 0
    assert count(session, "s5_3_ex_labels") == 1, "the label itself must survive"


def test_label_names_are_unique_per_workspace(session: Session) -> None:
    project = new_project(session)
    new_label(project, "urgent")
    new_label(project, "urgent")
    with pytest.raises(IntegrityError) as caught:
        session.flush()
    assert violated_constraint(caught.value) == "uq_s5_3_ex_labels_workspace_id_name"


def test_every_foreign_key_is_the_leading_column_of_an_index(engine: Engine) -> None:
    insp = inspect(engine)
    for table in sorted(TABLES):
        leading = {tuple(ix["column_names"][:1]) for ix in insp.get_indexes(table)}
        leading |= {tuple(uq["column_names"][:1]) for uq in insp.get_unique_constraints(table)}
        leading.add(tuple(insp.get_pk_constraint(table)["constrained_columns"][:1]))
        for fk in insp.get_foreign_keys(table):
            first = tuple(fk["constrained_columns"][:1])
            assert first in leading, (
                f"{table}.{first[0]} is a foreign key with no index starting with it: deleting a "
                "parent row would scan the whole table"
            )

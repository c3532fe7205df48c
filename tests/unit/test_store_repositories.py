"""Repositories the user added."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.core.errors import UserInputError
from dockyard.store.database import Database
from dockyard.store.repositories import RepositoryStore, default_name


@pytest.fixture
def repos(store_db: Database) -> RepositoryStore:
    return RepositoryStore(store_db)


@pytest.mark.parametrize(
    ("location", "name"),
    [
        ("https://git.example.com/shop/web.git", "web"),
        ("git@git.example.com:shop/api.git", "api"),
        ("ssh://git@host/shop/cart/", "cart"),
        ("/home/ann/src/billing", "billing"),
    ],
)
def test_default_name_is_the_last_component_without_git(location: str, name: str) -> None:
    assert default_name(location) == name


def test_add_is_idempotent_on_location(repos: RepositoryStore, tmp_path: Path) -> None:
    first = repos.add(str(tmp_path / "web"))
    again = repos.add(str(tmp_path / "sub" / ".." / "web"))
    assert again == first
    assert first.name == "web"
    assert not first.watch
    assert first.added.tzinfo is not None
    assert repos.list() == [first]


def test_same_default_name_gets_a_suffix(repos: RepositoryStore, tmp_path: Path) -> None:
    local = repos.add(str(tmp_path / "web"))
    remote = repos.add("https://git.example.com/shop/web.git")
    assert (local.name, remote.name) == ("web", "web-2")


def test_an_explicit_name_already_taken_is_refused(repos: RepositoryStore) -> None:
    repos.add("https://git.example.com/a.git", name="shop")
    with pytest.raises(UserInputError, match="already exists"):
        repos.add("https://git.example.com/b.git", name="shop")


def test_get_by_name_or_location_then_watch_and_remove(
    repos: RepositoryStore, tmp_path: Path
) -> None:
    added = repos.add(str(tmp_path / "web"), name="storefront")
    assert repos.get("storefront") == added
    assert repos.get(str(tmp_path / "web")) == added
    repos.set_watch(added.id, True)
    watched = repos.get("storefront")
    assert watched is not None and watched.watch
    assert repos.remove(str(tmp_path / "web"))
    assert repos.get("storefront") is None
    assert not repos.remove(added.id)


def test_list_is_sorted_by_name(repos: RepositoryStore) -> None:
    for url in ("https://h/zeta.git", "https://h/Alpha.git", "https://h/mid.git"):
        repos.add(url)
    assert [repo.name for repo in repos.list()] == ["Alpha", "mid", "zeta"]

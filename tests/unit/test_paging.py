"""Page numbers as the account and admin lists read them (lumyx.accounts.paging)."""

from __future__ import annotations

import pytest

from lumyx.accounts.paging import Page, page_number


@pytest.mark.parametrize("raw,number", [(None, 1), ("", 1), ("abc", 1), ("3", 3), (" 2 ", 2), ("0", 0), ("-4", -4)])
def test_the_page_parameter_is_a_whole_number_else_1(raw, number):
    assert page_number(raw) == number


@pytest.mark.parametrize("total,pages", [(0, 1), (1, 1), (20, 1), (21, 2), (45, 3)])
def test_an_empty_list_still_has_one_page(total, pages):
    assert Page([], 1, 20, total).total_pages == pages

"""The order of the tests: those that execute a whole notebook (marked ``notebooks``) go first.

``make check`` shares the tests between pytest-xdist workers (``--dist loadgroup``): each test on
its own, except the cells of one notebook run by nbval (the student release of the plain
notebooks), which form one group so that one worker runs them in order in one kernel. The long
notebook tests start first and the short tests fill the gaps at the end.
"""

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if type(item).__name__ == "IPyNbCell":  # a cell of a notebook run by nbval
            item.add_marker(pytest.mark.notebooks)
            item.add_marker(pytest.mark.xdist_group(str(item.path)))
    items.sort(key=lambda item: item.get_closest_marker("notebooks") is None)  # stable sort

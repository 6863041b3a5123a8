"""The order of the tests: those that execute a whole notebook (marked ``notebooks``) go first.

``make check`` shares the tests between two pytest-xdist workers one test at a time
(``--dist load --maxschedchunk 1``), so the long notebook tests start first, one per worker, and
the short tests fill the gaps at the end; neither worker waits while the other runs every notebook.
"""

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("notebooks") is None)  # stable sort

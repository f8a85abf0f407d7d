import matplotlib

matplotlib.use("Agg")


# Markers by where a test lives (registered in pyproject.toml): `python3 tasks.py test --fast`
# leaves out the notebooks, the browser and the slow ones.
_SLOW_FILES = {"test_exercises.py", "test_grading.py", "test_kernel.py"}


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        path = item.path
        if path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
        elif "e2e" in path.parts:
            item.add_marker(pytest.mark.browser)
        if path.name.startswith("test_service"):
            item.add_marker(pytest.mark.service)
        if path.name in _SLOW_FILES:
            item.add_marker(pytest.mark.slow)

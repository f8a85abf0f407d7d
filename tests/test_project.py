"""The project's shape: dependencies declared once, pinned, and the code's floors respected."""
import ast
import re

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


# Extras that the course never installs (tasks.py, environment.yml): pinned elsewhere.
BENCHMARK_EXTRAS = {"peers": "benchmarks/peers-constraints.txt"}


def _pyproject_deps():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_norm(re.split(r"[<>=!~ \[;]", d)[0]) for d in data["dependencies"]}
    for extra, deps in data["optional-dependencies"].items():
        if extra not in BENCHMARK_EXTRAS:
            names |= {_norm(re.split(r"[<>=!~ \[;]", d)[0]) for d in deps}
    return names


def _environment_yml_deps():
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("- pip:")[1]
    names = set()
    for line in pip_block.splitlines():
        m = re.match(r"\s+-\s+(.+)", line)
        if m and not m.group(1).startswith("-"):
            names.add(_norm(re.split(r"[<>=!~ \[]", m.group(1))[0]))
    return names


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    assert _environment_yml_deps() == _pyproject_deps()
    text = (ROOT / "environment.yml").read_text()
    assert "-c constraints.txt" in text and "-e ." in text


def test_every_dependency_is_pinned_exactly_in_constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt line {line!r} is not an exact pin"
            pins[_norm(name)] = version
    missing = _pyproject_deps() - set(pins)
    assert not missing, f"not pinned in constraints.txt: {sorted(missing)}"


def test_benchmark_extras_are_pinned_in_their_own_file_and_never_installed_by_tasks():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    tasks = (ROOT / "tasks.py").read_text()
    for extra, path in BENCHMARK_EXTRAS.items():
        pins = {_norm(line.partition("==")[0]) for line in (ROOT / path).read_text().splitlines()
                if line and not line.startswith("#") and "==" in line}
        missing = {_norm(re.split(r"[<>=!~ \[;]", d)[0]) for d in data[extra]} - pins
        assert not missing, f"not pinned in {path}: {sorted(missing)}"
        assert not re.search(rf'EXTRAS = ".*\\b{extra}\\b', tasks), f"tasks.py installs [{extra}]"


def test_readme_commands_and_ci_agree():
    readme = (ROOT / "README.md").read_text()
    assert "python3 tasks.py lab" in readme and "python3 tasks.py test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec python3 tasks.py test$", ci, re.M)


FLOORS = {
    "_validation": 0, "_rng": 0, "_special": 0, "_state": 0, "_parallel": 0, "_base": 0,
    "_pending": 0, "_quadrature": 0,
    "scores": 1, "posteriors": 1, "metrics": 1, "contextual.scores": 1,
    "policies": 2, "nonstationary": 2, "environments": 2, "propensities": 2, "history": 2,
    "contextual.posterior": 2, "contextual.policies": 2, "contextual.baselines": 2,
    "contextual.customers": 2, "contextual.credit_card": 2, "contextual.nig": 2,
    "ab_testing": 2, "production.objectives": 2, "production.cold_start": 2,
    "_runs": 3, "simulate": 3, "explore_exploit": 3, "contextual.simulate": 3, "contextual.summaries": 3,
    "production.funnel": 3, "production.budget": 3,
    # a topic folder's table of contents (its __init__) stands on its highest module
    "contextual": 3, "production": 3,
    # old import paths kept working: each re-exports from the floor it names
    "linear_posterior": 2, "credit_card": 2, "contextual_simulate": 3, "production_sim": 3,
    "offpolicy": 3,
    "plotting": 4, "widgets": 4, "grading": 4,
    "cli": 5, "service": 5,
}


def _floor_key(dotted):
    """The FLOORS entry of a module ``a.b.c`` (relative to bandit_lab): its longest prefix."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in FLOORS:
            return key
    return None


def _module_imports(path, rel):
    """Modules of bandit_lab that the file at ``rel`` (parts under bandit_lab/) imports,
    as dotted names relative to bandit_lab."""
    package = list(rel[:-1])  # the package the file sits in, relative to bandit_lab
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            if node.module:
                yield ".".join(base + node.module.split("."))
            else:
                for alias in node.names:
                    yield ".".join(base + [alias.name])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bandit_lab."):
            yield node.module.split(".", 1)[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("bandit_lab."):
                    yield alias.name.split(".", 1)[1]


def test_each_module_imports_only_from_lower_floors():
    pkg = ROOT / "bandit_lab"
    problems = []
    for path in pkg.rglob("*.py"):
        rel = path.relative_to(pkg).parts
        if rel[-1] == "__init__.py":
            continue  # a table of contents, importing its members lazily
        dotted = ".".join(rel).removesuffix(".py")
        own = _floor_key(dotted)
        if own is None:
            problems.append(f"{'/'.join(rel)}: module not on any floor (add it to FLOORS)")
            continue
        for imported in _module_imports(path, rel):
            key = _floor_key(imported)
            if key is None or key == own:
                continue
            if FLOORS[key] > FLOORS[own]:
                problems.append(f"{'/'.join(rel)} (floor {FLOORS[own]}) imports {imported} "
                                f"(floor {FLOORS[key]})")
            elif FLOORS[key] == FLOORS[own] == 1:  # the maths modules stand alone
                problems.append(f"{'/'.join(rel)} imports {imported} from its own maths floor")
    assert not problems, "\n".join(problems)


def test_no_module_is_over_400_lines():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in (ROOT / "bandit_lab").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 420 and "service" not in p.parts]
    assert not long, "split these modules: " + "; ".join(long)


def test_no_global_numpy_random_state():
    pattern = re.compile(r"np\.random\.(seed|rand|randn|randint|random|beta|choice|normal|"
                         r"uniform|binomial|multivariate_normal|shuffle|permutation|gamma)\s*\(")
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "bandit_lab").rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, f"global numpy random state used at {hits}"


def test_lint_and_format_are_clean():
    """ruff (pinned in constraints.txt, configured in pyproject.toml) finds nothing."""
    import shutil
    import subprocess
    import sys

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        import pytest

        pytest.skip("ruff is not installed (it comes with the dev extra)")
    paths = ["bandit_lab", "tests", "benchmarks", "tasks.py"]
    for cmd in (["check", *paths], ["format", "--check", *paths]):
        done = subprocess.run([ruff, *cmd], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, f"ruff {' '.join(cmd)}:\n{done.stdout}{done.stderr}"


def test_no_private_helper_is_imported_from_another_folder():
    # A helper two folders share is a public name of the lower module (issue 17: private
    # helpers imported across modules hid what depended on what). Within a folder, and the
    # package's own private modules (_rng, _validation, ...), are fine.
    pkg = ROOT / "bandit_lab"
    problems = []
    for path in pkg.rglob("*.py"):
        rel = path.relative_to(pkg).parts
        if rel[0] in ("service", "widgets"):
            continue  # their owners' folders
        folder = list(rel[:-1])
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.level >= 1 and node.module):
                continue
            base = folder[: len(folder) - (node.level - 1)] if node.level > 1 else folder
            source = base + node.module.split(".")
            source_folder = source[:-1]
            for alias in node.names:
                if (alias.name.startswith("_") and not alias.name.startswith("__")
                        and source_folder != folder):
                    problems.append(f"{'/'.join(rel)} imports {alias.name} from "
                                    f"{'.'.join(source)}")
    assert not problems, "\n".join(problems)


def test_the_public_api_has_type_hints():
    # py.typed promises hints: every function and class (its __init__ and public methods)
    # in the tables of contents of the package and its topic folders is annotated
    import importlib
    import inspect

    missing = []
    for name in ("bandit_lab", "bandit_lab.offpolicy", "bandit_lab.contextual",
                 "bandit_lab.production", "bandit_lab.ab_testing"):
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isclass(obj):
                members = [(f"{attr}.{m}", f) for m, f in vars(obj).items()
                           if inspect.isfunction(f) and (not m.startswith("_") or m == "__init__")]
            elif inspect.isfunction(obj):
                members = [(attr, obj)]
            else:
                continue
            for label, f in members:
                sig = inspect.signature(f)
                params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
                if not (f.__annotations__ or (not params and f.__name__ == "__init__")):
                    missing.append(f"{name}.{label}")
    assert not missing, f"{len(missing)} public callables without type hints: {sorted(set(missing))}"

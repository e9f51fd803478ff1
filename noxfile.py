"""Test sessions.

    nox -s tests          # fresh virtualenv from requirements.txt, then the whole suite (offline, CPU)
    nox -s tests_here     # the suite in the current environment (after `pip install -r requirements.txt -e .`)

Arguments after ``--`` go to pytest, e.g. ``nox -s tests -- -m "not slow"``.
"""

import nox

# virtualenv seeds a current pip; the venv backend's pip 23 backtracks for minutes on boto pins.
nox.options.default_venv_backend = "virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

# Two workers, each taking whole test files (--dist loadfile), so a module's fixtures (a tiny `dvc repro`)
# are built once: the suite's wall time on CI's 2 cores falls from about 22 to about 12 minutes.
# `-- -n 0` runs it serially.
XDIST = ("-n", "2", "--dist", "loadfile")
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DVC_NO_ANALYTICS": "1", "TOKENIZERS_PARALLELISM": "false"}


@nox.session(python="3.11")
def tests(session):
    session.install("-U", "pip==26.3")
    # torch==2.13.0 is pinned in the same resolve; the s3 extra's lock brings dvc-s3 and moto's S3 server.
    session.install("-r", "requirements.txt", "-r", "requirements-s3.txt")
    session.install("--no-deps", "-e", ".")
    session.run("pytest", *XDIST, *session.posargs, env=ENV)


@nox.session(python=False)
def tests_here(session):
    session.run("pytest", *XDIST, *session.posargs, env=ENV)

"""The deployment recipe in deploy/, run as far as this machine can run it.

No container engine runs here (the image cannot be built or started), so the
no-container path is run instead: the systemd units are checked by
`systemd-analyze verify`, then their command lines are started exactly as
systemd would start them (the unit's WorkingDirectory, its Environment= and
EnvironmentFile= variables, its specifiers and $VARIABLES expanded, a
NOTIFY_SOCKET for Type=notify), with /opt/lumyx and /etc/lumyx/lumyx.env
standing for this checkout and a copy of the example environment file. The
instance is reloaded with the unit's ExecReload and stopped with its KillSignal.
The image's entry point (deploy/entrypoint.sh) runs here with the checkout in
place of /app. compose.yaml is checked by docker-compose's own `config` (Debian's
docker-compose; `make compose` installs it) and for agreement with haproxy.cfg,
which `haproxy -c` checks.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.servers import ROOT, VENV_BIN, free_port

DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


# -- systemd's reading of unit and environment files ------------------------------------


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as systemd reads it: sections of keys, each key's values in order
    (ExecStart= may repeat in a oneshot unit); a line ending in a backslash goes on."""
    sections: dict[str, dict[str, list[str]]] = {}
    section = None
    pending = ""
    for raw in path.read_text().splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return sections


def read_environment_file(path: Path) -> dict[str, str]:
    """KEY=value lines, as EnvironmentFile= reads them (no shell, quotes removed)."""
    env = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def command_line(line: str, env: dict[str, str], instance: str = "") -> list[str]:
    """An Exec*= line as systemd runs it: specifiers (%i), then $VAR as separate words
    and ${VAR} in place, from the unit's environment."""
    line = line.lstrip("-@:+!")
    line = line.replace("%%", "\0").replace("%i", instance).replace("\0", "%")
    words = []
    for word in shlex.split(line):
        whole = re.fullmatch(r"\$(\w+)", word)
        if whole:
            words.extend(env.get(whole.group(1), "").split())
        else:
            words.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
    return words


def localise(text: str, env_file: Path) -> str:
    """The units' installed paths, pointed at this checkout and its venv."""
    return (
        text.replace("/opt/lumyx/.venv/bin", str(VENV_BIN))
        .replace("/opt/lumyx", str(ROOT))
        .replace("/etc/lumyx/lumyx.env", str(env_file))
    )


class Unit:
    """One unit file, read with this checkout standing for /opt/lumyx."""

    def __init__(self, name: str, env_file: Path, instance: str = ""):
        self.raw = read_unit(UNITS / name)
        self.service = {key: [localise(v, env_file) for v in values] for key, values in self.raw["Service"].items()}
        self.instance = instance
        # Environment= first; EnvironmentFile= overrides it (systemd.exec(5)).
        env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
        for assignment in self.service.get("Environment", []):
            for word in shlex.split(assignment.replace("%i", instance)):
                key, _, value = word.partition("=")
                env[key] = value
        for file in self.service.get("EnvironmentFile", []):
            env.update(read_environment_file(Path(file.lstrip("-"))))
        self.env = env
        self.cwd = Path(self.service["WorkingDirectory"][0])

    def commands(self, key: str, extra: dict | None = None) -> list[list[str]]:
        env = {**self.env, **(extra or {})}
        return [command_line(line, env, self.instance) for line in self.service.get(key, [])]

    def seconds(self, key: str) -> float:
        return float(self.service[key][0].rstrip("s"))


# -- the example environment file, filled in for this test run --------------------------


@pytest.fixture(scope="module")
def env_file(server_env, tmp_path_factory) -> Path:
    """deploy/systemd/lumyx.env.example with this run's database, Redis, catalog,
    secrets and upstream keys in place of its examples, as an operator fills it in."""
    ours = {k: v for k, v in server_env.items() if os.environ.get(k) != v}
    ours.update({k: server_env[k] for k in ("DATABASE_URL", "REDIS_URL") if k in server_env})
    ours["WEB_CONCURRENCY"] = "2"
    lines = []
    for raw in (UNITS / "lumyx.env.example").read_text().splitlines():
        key = raw.partition("=")[0].strip()
        if not raw.startswith("#") and "=" in raw:
            if key == "REDIS_URL" and "REDIS_URL" not in server_env:
                continue  # the embedded defaults: no Redis
            if key in ours:
                raw = f"{key}={ours.pop(key)}"
            elif key == "LUMYX_CATALOG":
                raw = localise(raw, Path())
        lines.append(raw)
    lines += [f"{key}={value}" for key, value in ours.items()]
    path = tmp_path_factory.mktemp("etc-lumyx") / "lumyx.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def graceful_timeout() -> float:
    """gunicorn.conf.py's graceful_timeout: how long a stopping server lets requests finish."""
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-c", "import runpy; print(runpy.run_path('gunicorn.conf.py')['graceful_timeout'])"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout)


def test_the_units_pass_systemd_analyze_verify(env_file, tmp_path):
    """systemd's own check of the units as they would be installed (the lumyx user
    swapped for the user running the test)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the units are still run below")
    for name in ("lumyx-migrate.service", "lumyx@.service"):
        text = localise((UNITS / name).read_text(), env_file)
        text = re.sub(r"(?m)^(User|Group)=.*$", "", text)
        (tmp_path / name).write_text(text)
    shutil.copy(tmp_path / "lumyx@.service", tmp_path / "lumyx@8001.service")
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / "lumyx-migrate.service"), str(tmp_path / "lumyx@8001.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == ""


def test_the_instance_unit_stops_gracefully_within_its_timeout():
    """SIGTERM to gunicorn's master (KillMode=mixed), and systemd waits longer than
    gunicorn lets the workers finish; reload is SIGHUP; the port is the unit's name."""
    service = read_unit(UNITS / "lumyx@.service")["Service"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["KillMode"] == ["mixed"]
    assert float(service["TimeoutStopSec"][0]) > graceful_timeout()
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["Environment"] == ["PORT=%i"]
    assert "PORT" not in read_environment_file(UNITS / "lumyx.env.example")


def test_the_migrate_unit_applies_migrations_and_loads_the_catalog(env_file):
    unit = Unit("lumyx-migrate.service", env_file)
    assert unit.raw["Service"]["Type"] == ["oneshot"]
    outputs = []
    for argv in unit.commands("ExecStart"):
        result = subprocess.run(argv, cwd=unit.cwd, env=unit.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{argv}: {result.stderr}"
        outputs.append(result.stdout + result.stderr)
    assert [argv[-2:] for argv in unit.commands("ExecStart")] == [["db", "upgrade"], ["app", "prepare"]]
    assert "loaded" in outputs[-1] and "models from" in outputs[-1]


# -- one instance, started, reloaded and stopped as systemd would -----------------------


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers of its master)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {seconds} s")


@pytest.fixture(scope="module")
def instance(env_file, app, tmp_path_factory):
    """lumyx@<free port>.service's ExecStart, started as systemd starts a Type=notify
    service: in its WorkingDirectory, with its environment and a NOTIFY_SOCKET."""
    port = str(free_port())
    unit = Unit("lumyx@.service", env_file, instance=port)
    logs = tmp_path_factory.mktemp("lumyx-unit")
    notify_path = logs / "notify"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(60)
    [argv] = unit.commands("ExecStart")
    log = open(logs / "gunicorn.log", "ab")
    proc = subprocess.Popen(
        argv, cwd=unit.cwd, env={**unit.env, "NOTIFY_SOCKET": str(notify_path)}, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        message = notify.recv(4096).decode()
        url = f"http://127.0.0.1:{port}"

        def healthy():
            try:
                return requests.get(url + "/v1/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(healthy, 30, "/v1/health answering 200")
        yield {"unit": unit, "proc": proc, "url": url, "ready": message, "log": logs / "gunicorn.log"}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pid in children(proc.pid):
            os.kill(pid, signal.SIGKILL)
        notify.close()
        log.close()


def test_the_instance_unit_serves_on_its_port_and_tells_systemd_it_is_ready(instance, key):
    assert "READY=1" in instance["ready"]
    answer = requests.post(
        instance["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "lumyx-local", "messages": [{"role": "user", "content": "hello"}]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"]


def test_reload_replaces_every_worker_and_no_request_fails(instance, key):
    """`systemctl reload`: ExecReload with $MAINPID; requests keep being answered while
    the new workers start and the old ones finish."""
    proc, unit = instance["proc"], instance["unit"]
    before = wait_for(lambda: children(proc.pid) if len(children(proc.pid)) == 2 else None, 30, "two workers")
    [reload] = unit.commands("ExecReload", {"MAINPID": str(proc.pid)})
    assert subprocess.run(reload, timeout=10).returncode == 0
    statuses = []
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        answer = requests.get(instance["url"] + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        statuses.append(answer.status_code)
        now = children(proc.pid)
        if len(now) == 2 and not now & before and len(statuses) >= 10:
            break
        time.sleep(0.05)
    after = children(proc.pid)
    assert proc.poll() is None, "the master must survive a reload"
    assert len(after) == 2 and not after & before, f"workers before {before}, after {after}"
    assert statuses and set(statuses) == {200}, statuses


def test_haproxy_cfg_in_front_of_the_instance_checks_it_and_forwards_requests(instance, key, tmp_path):
    """deploy/haproxy.cfg with its servers pointed at the instance (no container DNS
    here) and checks every 200 ms: its health check passes Lumyx's Host check, and
    requests go through. The readiness path is checked where the instance serves it,
    else its liveness path."""
    port = free_port()
    ready = requests.get(instance["url"] + "/v1/health/ready", timeout=5).status_code == 200
    config = (DEPLOY / "haproxy.cfg").read_text()
    config = re.sub(r"(?ms)^resolvers containers\n.*?\n\n", "", config)
    config = config.replace(" resolvers containers", "").replace("inter 2s", "inter 200ms")
    config = re.sub(r"(?m)^\s*bind :\d+", f"    bind 127.0.0.1:{port}", config)
    config = re.sub(r"(?m)^\s*server lumyx2 .*\n", "", config)
    config = re.sub(r"(?m)^(\s*server lumyx1) \S+", rf"\1 {instance['url'][len('http://') :]}", config)
    if not ready:
        config = config.replace("uri /v1/health/ready", "uri /v1/health")
    (tmp_path / "haproxy.cfg").write_text(config)
    proxy = subprocess.Popen(
        [HAPROXY, "-f", str(tmp_path / "haproxy.cfg"), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def through():
            if proxy.poll() is not None:
                raise AssertionError("haproxy exited: " + proxy.stderr.read().decode(errors="replace"))
            try:
                return requests.get(url + "/v1/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(through, 15, "haproxy forwarding")
        time.sleep(1)  # five checks at 200 ms: two failing would have marked the server down
        answer = requests.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert proxy.poll() is None
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


def test_stop_drains_and_exits_cleanly_within_timeout_stop_sec(instance):
    proc, unit = instance["proc"], instance["unit"]
    workers = children(proc.pid)
    started = time.monotonic()
    proc.send_signal(getattr(signal, unit.service["KillSignal"][0]))
    code = proc.wait(timeout=unit.seconds("TimeoutStopSec"))
    assert code == 0, instance["log"].read_text()[-3000:]
    assert time.monotonic() - started < unit.seconds("TimeoutStopSec")
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "a worker outlived its master"
    with pytest.raises(requests.ConnectionError):
        requests.get(instance["url"] + "/v1/health", timeout=2)


# -- the image's entry point, with this checkout as /app -------------------------------


def test_the_image_entrypoint_runs_any_other_command_from_the_app_directory():
    """`docker run lumyx flask --app app create-user …`: a command that is not one of the
    image's own runs as given, from the app's directory (here the checkout)."""
    entrypoint = str(DEPLOY / "entrypoint.sh")
    where = subprocess.run([entrypoint, "sh", "-c", "pwd"], cwd="/", capture_output=True, text=True, timeout=10)
    assert where.returncode == 0 and where.stdout.strip() == str(ROOT)
    unknown = subprocess.run([entrypoint, "no-such-command"], capture_output=True, text=True, timeout=10)
    assert unknown.returncode == 127


def test_the_image_default_command_serves_as_make_run_does(server_env, tmp_path):
    """`run`, the image's CMD: migrate, load the catalog, then gunicorn in the script's
    own process (exec, PID 1 in a container), which SIGTERM stops cleanly."""
    port = free_port()
    env = {**server_env, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "HOST": "127.0.0.1", "PORT": str(port)}
    env["WEB_CONCURRENCY"] = "1"
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen([str(DEPLOY / "entrypoint.sh")], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def healthy():
            try:
                return requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200
            except requests.RequestException:
                return proc.poll() is not None and "exited"

        assert wait_for(healthy, 60, "the image's default command serving") is True, (tmp_path / "run.log").read_text()
        assert "gunicorn" in Path(f"/proc/{proc.pid}/cmdline").read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=75) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()


def test_the_containerfile_builds_what_the_checkout_has_as_a_non_root_user():
    lines = [line.strip() for line in (DEPLOY / "Containerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    for line in instructions:
        if line.startswith("COPY"):
            sources = [word for word in line.split()[1:-1] if not word.startswith("--")]
            assert all((ROOT / source).exists() for source in sources), line
    users = [line.split()[1] for line in instructions if line.startswith("USER")]
    assert users and users[-1] not in ("root", "0")
    healthcheck = next(line for line in lines if "urlopen" in line)
    assert "/v1/health" in healthcheck
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in instructions
    assert 'CMD ["run"]' in instructions


# -- compose.yaml and haproxy.cfg -------------------------------------------------------


def haproxy_servers(config: str) -> dict[str, str]:
    """The lumyx backend's servers: name → host:port."""
    return dict(re.findall(r"(?m)^\s*server\s+(\S+)\s+(\S+)", config))


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    """compose.yaml as docker-compose resolves it, with deploy/env.example as deploy/.env."""
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("docker-compose is missing: run `make compose`")
    where = tmp_path_factory.mktemp("compose") / "deploy"
    where.mkdir()
    for name in ("compose.yaml", "haproxy.cfg"):
        shutil.copy(DEPLOY / name, where / name)
    env = (DEPLOY / "env.example").read_text()
    env = env.replace("SECRET_KEY=\n", "SECRET_KEY=one-secret\n").replace(
        "POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=pw\n"
    )
    (where / ".env").write_text(env)
    result = subprocess.run(
        [tool, "-f", str(where / "compose.yaml"), "config"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"]},
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_refuses_to_start_without_the_secrets(tmp_path):
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("docker-compose is missing: run `make compose`")
    shutil.copy(DEPLOY / "compose.yaml", tmp_path / "compose.yaml")
    (tmp_path / ".env").write_text((DEPLOY / "env.example").read_text())
    result = subprocess.run(
        [tool, "-f", str(tmp_path / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"]},
    )
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in deploy/.env" in result.stderr or "set SECRET_KEY" in result.stderr


def test_compose_migrates_once_before_two_instances_that_share_one_database_and_redis(compose):
    services = compose["services"]
    instances = {name: s for name, s in services.items() if s.get("command") == ["serve"]}
    assert len(instances) >= 2
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    shared = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
    for name, service in instances.items():
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert service["image"] == migrate["image"]
        assert {k: service["environment"][k] for k in shared} == {k: migrate["environment"][k] for k in shared}
        assert service["environment"]["SECRET_KEY"] == "one-secret"
        assert service["environment"]["LUMYX_TRUSTED_PROXIES"] == "1"
        assert int(service["stop_grace_period"].rstrip("s")) > graceful_timeout()
    volumes = [
        next(v for v in s["volumes"] if v.endswith(("/app/instance:rw", "/app/instance"))) for s in instances.values()
    ]
    assert len(set(volumes)) == len(volumes), "each instance keeps its own instance/ (its settlement journal)"
    database = instances[next(iter(instances))]["environment"]["DATABASE_URL"]
    assert "@postgres:5432/" in database and database.startswith("postgresql+psycopg://")
    assert "postgres" in services and "redis" in services


def test_haproxy_balances_exactly_the_compose_instances_on_their_readiness(compose):
    config = (DEPLOY / "haproxy.cfg").read_text()
    services = compose["services"]
    instances = {name: s for name, s in services.items() if s.get("command") == ["serve"]}
    servers = haproxy_servers(config)
    assert set(servers) == set(instances)
    for name, address in servers.items():
        host, port = address.split(":")
        assert host == name and port == instances[name]["environment"]["PORT"]
        health = " ".join(instances[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/v1/health" in health
    assert re.search(r"http-check send meth GET uri /v1/health/ready\b", config)
    proxy = services["haproxy"]
    assert any(v.endswith(":/usr/local/etc/haproxy/haproxy.cfg:ro") for v in proxy["volumes"])
    [published] = proxy["ports"]
    bind = re.search(r"(?m)^\s*bind\s+:(\d+)", config).group(1)
    assert str(published["target"]) == bind


def test_haproxy_accepts_its_configuration():
    """`haproxy -c`; the only warnings allowed are the instances' names, which resolve
    inside the compose network and not here."""
    if not shutil.which("haproxy") and not Path(HAPROXY).exists():
        pytest.fail("haproxy is missing: run `make haproxy`")
    result = subprocess.run([HAPROXY, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "[WARNING]" in line or "[ALERT]" in line]
    assert all("could not resolve address" in line for line in warnings), warnings


def test_every_lumyx_setting_the_recipe_sets_is_one_the_product_reads(compose):
    source = "\n".join(p.read_text() for p in (ROOT / "lumyx").rglob("*.py")) + (ROOT / "gunicorn.conf.py").read_text()
    named = set(read_environment_file(UNITS / "lumyx.env.example")) | set(read_environment_file(DEPLOY / "env.example"))
    for service in compose["services"].values():
        named |= set(service.get("environment") or {})
    settings = {name for name in named if name.startswith("LUMYX_")}
    assert settings
    unknown = sorted(name for name in settings if f'"{name}"' not in source)
    assert unknown == []

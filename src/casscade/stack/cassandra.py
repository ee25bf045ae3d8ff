"""A real Apache Cassandra 5.0 node with CDC on, from Maven Central's jars, on OpenJDK 17.

The jars come from `mvn dependency:copy-dependencies` over assets/cassandra/pom.xml into a
cache folder shared between checkouts; the node runs `CassandraDaemon` directly (there is no
tarball and no bin/cassandra) with a generated cassandra.yaml and logback.xml. Facts behind
the flags are in docs/stack.md. This module never touches another service.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from casscade.errors import StackError
from casscade.stack import process
from casscade.stack.config import CassandraSettings

if TYPE_CHECKING:
    from cassandra.cluster import Cluster

SERVICE = "cassandra"
JAVA17_CANDIDATES = (
    Path("/usr/lib/jvm/java-17-openjdk-amd64"),
    Path("/usr/lib/jvm/java-17-openjdk-arm64"),
)
# Marker in the JVM command line that tells our Cassandra apart from any other java process.
MAIN_CLASS = "org.apache.cassandra.service.CassandraDaemon"

# Exactly the JDK 17 module flags of Cassandra 5.0's conf/jvm17-server.options: without them
# startup fails (e.g. InaccessibleObjectException on FileDescriptor.fd without java.io).
_JDK17_MODULE_FLAGS = (
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports=java.management/com.sun.jmx.remote.security=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports=java.sql/java.sql=ALL-UNNAMED",
    "--add-exports=java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
)

_LOGBACK = """<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>WARN</level></filter>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="FILE"/>
    <appender-ref ref="STDOUT"/>
  </root>
</configuration>
"""


@dataclass(frozen=True, slots=True)
class CassandraLayout:
    """Where one node keeps its files."""

    home: Path
    lib_dir: Path

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def cdc_raw_dir(self) -> Path:
        return self.data_dir / "cdc_raw"

    @property
    def commitlog_dir(self) -> Path:
        return self.data_dir / "commitlog"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def pid_path(self) -> Path:
        return self.home / "cassandra.pid"

    @property
    def settings_path(self) -> Path:
        return self.home / "settings.json"

    @property
    def data_mode_path(self) -> Path:
        # The storage_compatibility_mode the data directory was created with.
        return self.data_dir / "storage_compatibility_mode"


def render_yaml(settings: CassandraSettings, layout: CassandraLayout) -> str:
    """Return cassandra.yaml for `settings` (5.0 key names; unknown keys are fatal in 5.0)."""
    doc: dict[str, Any] = {
        "cluster_name": "casscade-dev",
        # One token and no token allocator: the allocator waits up to 30 s on a fresh node.
        "num_tokens": 1,
        "initial_token": 0,
        "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
        "endpoint_snitch": "SimpleSnitch",
        "seed_provider": [
            {
                "class_name": "org.apache.cassandra.locator.SimpleSeedProvider",
                "parameters": [{"seeds": f"{settings.host}:{settings.storage_port}"}],
            }
        ],
        "listen_address": settings.host,
        "rpc_address": settings.host,
        "storage_port": settings.storage_port,
        "native_transport_port": settings.native_port,
        "start_native_transport": True,
        "data_file_directories": [str(layout.data_dir / "data")],
        "commitlog_directory": str(layout.commitlog_dir),
        # Must share a filesystem with commitlog_directory: Cassandra hard-links segments.
        "cdc_raw_directory": str(layout.cdc_raw_dir),
        "saved_caches_directory": str(layout.data_dir / "saved_caches"),
        "hints_directory": str(layout.data_dir / "hints"),
        "commitlog_sync": settings.commitlog_sync,
        "commitlog_segment_size": f"{settings.commitlog_segment_size_mib}MiB",
        "cdc_enabled": True,
        "cdc_total_space": f"{settings.cdc_total_space_mib}MiB",
        "cdc_free_space_check_interval": "250ms",
        # Reject CDC writes when cdc_raw is full rather than silently dropping change data.
        "cdc_block_writes": True,
        "role_manager": "CassandraRoleManager",
        "storage_compatibility_mode": settings.storage_compatibility_mode,
        "auto_snapshot": False,
    }
    # 5.0 refuses a sync period with batch mode, and a group window outside group mode.
    if settings.commitlog_sync == "periodic":
        doc["commitlog_sync_period"] = f"{settings.commitlog_sync_period_ms}ms"
    elif settings.commitlog_sync == "group":
        doc["commitlog_sync_group_window"] = f"{settings.commitlog_sync_group_window_ms}ms"
    if settings.commitlog_compression != "none":
        doc["commitlog_compression"] = [{"class_name": settings.commitlog_compression}]
    if settings.auth == "password":
        doc["authenticator"] = "PasswordAuthenticator"
        doc["authorizer"] = "CassandraAuthorizer"
    else:
        doc["authenticator"] = "AllowAllAuthenticator"
        doc["authorizer"] = "AllowAllAuthorizer"
    if settings.client_tls is not None:
        tls = settings.client_tls
        doc["client_encryption_options"] = {
            "enabled": True,
            "optional": tls.optional,
            "keystore": str(tls.keystore),
            "keystore_password": tls.keystore_password,
            "store_type": "PKCS12",
            "require_client_auth": False,
        }
    return yaml.safe_dump(doc, sort_keys=False)


def jvm_command(
    settings: CassandraSettings, layout: CassandraLayout, java: Path
) -> tuple[str, ...]:
    """Return the java command line that runs CassandraDaemon in the foreground."""
    jamm = next(iter(sorted(layout.lib_dir.glob("jamm-*.jar"))), None)
    agent = (f"-javaagent:{jamm}",) if jamm is not None else ()
    tmp_dir = layout.home / "tmp"
    return (
        str(java),
        f"-Xms{settings.heap_mib}m",
        f"-Xmx{settings.heap_mib}m",
        "-Xss256k",
        "-XX:+UseG1GC",
        "-XX:+ParallelRefProcEnabled",
        "-XX:MaxGCPauseMillis=300",
        "-XX:+PerfDisableSharedMem",
        "-XX:+ExitOnOutOfMemoryError",
        "-XX:+HeapDumpOnOutOfMemoryError",
        f"-XX:HeapDumpPath={layout.log_dir}",
        "-ea",
        "-da:net.openhft...",
        "-Djava.net.preferIPv4Stack=true",
        "-Djdk.attach.allowAttachSelf=true",
        *_JDK17_MODULE_FLAGS,
        "-Dio.netty.tryReflectionSetAccessible=true",
        "-Dio.netty.allocator.useCacheForAllThreads=true",
        "-Dio.netty.allocator.maxOrder=11",
        "-Dchronicle.analytics.disable=true",
        # Natives (JNA, netty, zstd, snappy) are unpacked here; /tmp may be noexec elsewhere.
        f"-Djava.io.tmpdir={tmp_dir}",
        f"-Djna.tmpdir={tmp_dir}",
        *agent,
        # Without it the daemon closes stdout/stderr after setup.
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.config=file://{layout.conf_dir / 'cassandra.yaml'}",
        f"-Dcassandra.storagedir={layout.data_dir}",
        f"-Dcassandra.logdir={layout.log_dir}",
        f"-Dlogback.configurationFile={layout.conf_dir / 'logback.xml'}",
        f"-Dcassandra.triggers_dir={layout.conf_dir / 'triggers'}",
        f"-Dcassandra.jmx.local.port={settings.jmx_port}",
        # A single seed need not wait for gossip; the superuser exists at once with auth on.
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.superuser_setup_delay_ms=0",
        "-cp",
        f"{layout.conf_dir}:{layout.lib_dir}/*",
        MAIN_CLASS,
    )


def find_java17() -> Path:
    """Return the `java` binary of an OpenJDK 17 (Cassandra 5.0 runs on 11 and 17 only)."""
    for home in JAVA17_CANDIDATES:
        java = home / "bin" / "java"
        if java.exists():
            return java
    on_path = shutil.which("java")
    if on_path is not None:
        out = subprocess.run(
            [on_path, "-version"], capture_output=True, text=True, check=False
        ).stderr
        if '"17.' in out:
            return Path(on_path)
    raise StackError(
        SERVICE, "OpenJDK 17 not found", "install it: apt-get install openjdk-17-jdk-headless"
    )


class CassandraNode:
    """One local node: its jars, files and process."""

    def __init__(self, settings: CassandraSettings, home: Path, cache_dir: Path) -> None:
        self.settings = settings
        self.layout = CassandraLayout(
            home=home, lib_dir=cache_dir / f"cassandra-{settings.version}" / "lib"
        )

    def ensure_jars(self) -> None:
        """Copy cassandra-all and its runtime dependencies from Maven Central, once."""
        lib = self.layout.lib_dir
        if (lib / f"cassandra-all-{self.settings.version}.jar").exists():
            return
        if shutil.which("mvn") is None:
            raise StackError(SERVICE, "Maven not found", "apt-get install maven")
        lib.mkdir(parents=True, exist_ok=True)
        pom = importlib.resources.files("casscade.stack") / "assets" / "cassandra" / "pom.xml"
        with importlib.resources.as_file(pom) as pom_path:
            env = dict(os.environ, JAVA_HOME=str(find_java17().parent.parent))
            result = subprocess.run(
                [
                    "mvn", "-B", "-q", "-f", str(pom_path),
                    "dependency:copy-dependencies",
                    f"-Dcassandra.version={self.settings.version}",
                    f"-Dcassandra.lib.dir={lib}",
                ],
                capture_output=True, text=True, env=env, check=False,
            )  # fmt: skip
        if not (lib / f"cassandra-all-{self.settings.version}.jar").exists():
            detail = " | ".join(line for line in result.stdout.splitlines() if "ERROR" in line)[
                :400
            ]
            raise StackError(SERVICE, f"Maven could not fetch the jars: {detail}", str(pom))

    def pid(self) -> int | None:
        """The node's pid if it is running."""
        return process.find_daemon(self.layout.pid_path, MAIN_CLASS)

    def running_settings(self) -> CassandraSettings | None:
        """The settings the running node was started with, if it runs."""
        if self.pid() is None:
            return None
        try:
            raw = json.loads(self.layout.settings_path.read_text(encoding="utf-8"))
            return CassandraSettings.model_validate(raw)
        except (OSError, ValueError):
            return None

    def up(self) -> bool:
        """Start the node unless it already runs with these settings; wait until ready.

        Returns:
            True if a process was started, False if the running one was kept.
        """
        current = self.running_settings()
        if current == self.settings and self.is_ready():
            return False
        if current is not None or self.pid() is not None:
            self.down()
        self.ensure_jars()
        self._prepare_files()
        s = self.settings
        for port in (s.native_port, s.storage_port, s.jmx_port):
            process.require_free_port(SERVICE, s.host, port)
        log = self.layout.log_dir / "stdout.log"
        process.start_daemon(
            process.DaemonSpec(
                service=SERVICE,
                argv=jvm_command(s, self.layout, find_java17()),
                log_path=log,
                pid_path=self.layout.pid_path,
                marker=MAIN_CLASS,
                cwd=self.layout.home,
            )
        )
        self.layout.settings_path.write_text(s.model_dump_json(indent=2), encoding="utf-8")
        self._wait_ready(log)
        return True

    def _prepare_files(self) -> None:
        layout = self.layout
        for folder in (layout.conf_dir / "triggers", layout.log_dir, layout.home / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        mode = self.settings.storage_compatibility_mode
        # The on-disk format follows the mode; Cassandra's docs say to wipe data on a change.
        path = layout.data_mode_path
        if path.exists() and path.read_text(encoding="ascii").strip() != mode:
            shutil.rmtree(layout.data_dir)
        layout.data_dir.mkdir(parents=True, exist_ok=True)
        layout.data_mode_path.write_text(mode + "\n", encoding="ascii")
        (layout.conf_dir / "cassandra.yaml").write_text(
            render_yaml(self.settings, layout), encoding="utf-8"
        )
        (layout.conf_dir / "logback.xml").write_text(_LOGBACK, encoding="utf-8")

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            pid = self.pid()
            if pid is None:
                tail = process.log_tail(self.layout.log_dir / "system.log") or process.log_tail(log)
                raise StackError(SERVICE, f"the node exited during startup: {tail}", str(log))
            if process.is_port_open(self.settings.host, self.settings.native_port) and (
                self.is_ready()
            ):
                return
            time.sleep(1.0)
        raise StackError(
            SERVICE,
            f"not ready after {self.settings.startup_timeout_s:.0f} s",
            str(self.layout.log_dir / "system.log"),
        )

    def is_ready(self) -> bool:
        """Tell whether the node answers a CQL query (the readiness definition)."""
        if not process.is_port_open(self.settings.host, self.settings.native_port):
            return False
        try:
            return self.release_version() is not None
        except StackError:
            return False

    def release_version(self) -> str | None:
        """Run `SELECT release_version FROM system.local`; None if the node cannot answer."""
        from cassandra import DriverException  # noqa: PLC0415 - heavy import, only when used
        from cassandra.cluster import NoHostAvailable  # noqa: PLC0415

        with self.cluster() as cluster:
            try:
                session = cluster.connect()
                row = session.execute("SELECT release_version FROM system.local").one()
            except (NoHostAvailable, DriverException, OSError):
                return None
        return None if row is None else str(row.release_version)

    def cluster(self, *, user: str = "cassandra", password: str = "cassandra") -> Cluster:  # noqa: S107
        """A cassandra-driver Cluster for this node (a context manager that shuts it down).

        The default credentials are those of the superuser a fresh node creates; they only
        matter when the node runs with PasswordAuthenticator.
        """
        from cassandra.auth import PlainTextAuthProvider  # noqa: PLC0415
        from cassandra.cluster import (  # noqa: PLC0415
            EXEC_PROFILE_DEFAULT,
            Cluster,
            ExecutionProfile,
        )
        from cassandra.policies import WhiteListRoundRobinPolicy  # noqa: PLC0415

        auth = (
            PlainTextAuthProvider(username=user, password=password)
            if self.settings.auth == "password"
            else None
        )
        return Cluster(
            contact_points=[self.settings.host],
            port=self.settings.native_port,
            auth_provider=auth,
            ssl_context=self._stack_ssl_context(),
            execution_profiles={
                EXEC_PROFILE_DEFAULT: ExecutionProfile(
                    load_balancing_policy=WhiteListRoundRobinPolicy([self.settings.host]),
                    request_timeout=30,
                )
            },
            protocol_version=5,
            connect_timeout=5,
            control_connection_timeout=5,
        )

    def _stack_ssl_context(self) -> ssl.SSLContext | None:
        """TLS for the stack's own connections to a node with client encryption.

        Encrypted but unverified: this is the stack's readiness and setup connection to its
        own loopback node, whose CA the settings do not know. The agent always verifies
        (casscade.source.connection).
        """
        if self.settings.client_tls is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def down(self) -> bool:
        """Stop the node with SIGTERM so its last segment's _cdc.idx says COMPLETED.

        Returns:
            True if a running node was stopped.
        """
        pid = self.pid()
        if pid is None:
            return False
        clean = process.stop_daemon(pid, timeout_s=self.settings.stop_timeout_s)
        if not clean:
            raise StackError(
                SERVICE,
                f"did not stop within {self.settings.stop_timeout_s:.0f} s and was killed",
                str(self.layout.log_dir / "system.log"),
            )
        # The kernel releases the listening sockets a moment after the process is gone; a
        # restart right away would otherwise find its own ports taken.
        s = self.settings
        ports = (s.native_port, s.storage_port, s.jmx_port)
        process.wait_until(
            lambda: not any(process.is_port_open(s.host, p) for p in ports), timeout_s=30.0
        )
        return True

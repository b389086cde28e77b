"""Blending with sticky modes: agents work in one mode at a time (sales, care, outbound...).

Switching costs (the "sales mode" effect: an agent coming off care calls closes less until
warmed up), so modes are sticky: an agent stays at least ``min_dwell_s`` in a mode, and a
pull rule moves agents only when the target's queue reaches ``start_waiting`` and moves
them back only when it falls to ``stop_waiting`` (hysteresis: ``stop < start``).
"""

from __future__ import annotations

from typing import Any

from closeloop.routing.model import AgentState, Assign, ChangeMode, Decision, QueueDef, Timer
from closeloop.routing.policy import Param, Policy, PolicyParamError, global_head
from closeloop.routing.state import RouterState

_RULE_KEYS = {"from", "to", "start_waiting", "stop_waiting", "max_agents", "step"}


class StickyBlend(Policy):
    """Agents serve their mode's queues (global order, longest idle); a periodic review
    pulls agents between modes by the ``pulls`` rules.

    ``modes`` maps a mode to its queues (default: one mode per queue, named after it).
    Each rule of ``pulls`` is a table: ``from`` and ``to`` (modes), ``start_waiting``
    (pull while at least this many wait in ``to``'s queues), ``stop_waiting`` (send
    pulled agents home once at most this many wait), ``max_agents`` (most pulled at
    once, default 10) and ``step`` (most moved per review, default 2). Idle agents are
    pulled first; a busy agent switches when its call ends.
    """

    name = "sticky_blend"
    summary = "agents in sticky modes; pulled between modes past queue thresholds, with dwell and hysteresis"
    params = (
        Param("modes", {}, "Mode name -> list of queues it serves (default: one mode per queue)."),
        Param("pulls", [], "Rules moving agents between modes (see the class docs)."),
        Param("min_dwell_s", 900.0, "Least time an agent stays in a mode before switching again.", 0.0, None),
        Param("review_s", 60.0, "Seconds between reviews of the queues.", 1.0, None),
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self._modes: dict[str, tuple[str, ...]] = {}
        self._rules: list[dict[str, Any]] = []
        self._candidates: list[list[int]] | None = None
        self._pulled: list[set[int]] = []

    @property
    def modes(self) -> dict[str, tuple[str, ...]] | None:
        """The modes in use (known after :meth:`setup`)."""
        return self._modes

    def setup(self, queues: list[QueueDef], agents: list[Any]) -> None:
        """Resolve modes and check every rule against them."""
        super().setup(queues, agents)
        raw = self.p["modes"] or {q.name: [q.name] for q in queues}
        self._modes = {}
        for mode, qs in raw.items():
            qs = [qs] if isinstance(qs, str) else qs
            if not isinstance(qs, list) or not qs:
                raise PolicyParamError(f"modes.{mode}", "must be a non-empty list of queue names")
            for q in qs:
                if q not in self.queues:
                    raise PolicyParamError(f"modes.{mode}", f"unknown queue {q!r}; queues: {sorted(self.queues)}")
            self._modes[mode] = tuple(qs)
        self._rules = [self._check_rule(i, r) for i, r in enumerate(self.p["pulls"])]
        self._pulled = [set() for _ in self._rules]
        self._candidates = None

    def _check_rule(self, i: int, rule: Any) -> dict[str, Any]:
        key = f"pulls[{i}]"
        if not isinstance(rule, dict):
            raise PolicyParamError(key, "must be a table with from, to, start_waiting, stop_waiting")
        extra = set(rule) - _RULE_KEYS
        if extra:
            raise PolicyParamError(f"{key}.{sorted(extra)[0]}", f"unknown key; known: {sorted(_RULE_KEYS)}")
        r = {"max_agents": 10, "step": 2, **rule}
        for k in ("from", "to"):
            if r.get(k) not in self._modes:
                raise PolicyParamError(f"{key}.{k}", f"{r.get(k)!r} is not a mode; modes: {sorted(self._modes)}")
        for k, lo in (("start_waiting", 1), ("stop_waiting", 0), ("max_agents", 1), ("step", 1)):
            v = r.get(k)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise PolicyParamError(f"{key}.{k}", f"must be a whole number ≥ {lo}, got {v!r}")
        if r["stop_waiting"] >= r["start_waiting"]:
            raise PolicyParamError(f"{key}.stop_waiting", "must be below start_waiting (hysteresis)")
        return r

    def pooled(self, state: RouterState) -> bool:
        """Exact fast path when every mode serves a single queue."""
        return all(len(qs) == 1 for qs in self._modes.values())

    def on_agent_free(self, state: RouterState, agent: AgentState) -> list[Decision]:
        """Global order among the queues of the agent's mode."""
        c = global_head(state, agent.serving)
        return [Assign(c, agent.agent_id)] if c is not None else []

    def on_timer(self, state: RouterState, timer: Timer) -> list[Decision]:
        """Review: pull agents where a queue is long, send them home where it is short."""
        if timer.tag != "review" or not self._rules:
            return []
        if self._candidates is None:
            self._candidates = [self._eligible(state, r) for r in self._rules]
        moves: dict[int, str] = {}
        for i, rule in enumerate(self._rules):
            waiting = sum(state.waiting_count(q) for q in self._modes[rule["to"]])
            if waiting >= rule["start_waiting"]:
                self._pull(state, i, rule, moves)
            elif waiting <= rule["stop_waiting"]:
                self._release(state, i, rule, moves)
        return [ChangeMode(state.agents[j].agent_id, m) for j, m in sorted(moves.items())]

    def _eligible(self, state: RouterState, rule: dict[str, Any]) -> list[int]:
        """Agents whose home is ``from`` and who have a skill for a queue of ``to``."""
        return [
            a.index for a in state.agents
            if a.home_mode == rule["from"] and state.serving_queues(a.agent, rule["to"])
        ]

    def _pull(self, state: RouterState, i: int, rule: dict[str, Any], moves: dict[int, str]) -> None:
        pulled = self._pulled[i]
        pulled.intersection_update(j for j in pulled if state.agents[j].mode == rule["to"])
        room = min(rule["step"], rule["max_agents"] - len(pulled))
        if room <= 0:
            return
        now, dwell = state.now, self.p["min_dwell_s"]
        ready = [
            a for j in self._candidates[i]  # type: ignore[index]
            if j not in moves
            and (a := state.agents[j]).on_shift and a.mode == rule["from"] and now - a.mode_since >= dwell
        ]
        ready.sort(key=lambda a: (state.is_busy(a), a.index))
        for a in ready[:room]:
            moves[a.index] = rule["to"]
            pulled.add(a.index)

    def _release(self, state: RouterState, i: int, rule: dict[str, Any], moves: dict[int, str]) -> None:
        pulled = self._pulled[i]
        now, dwell = state.now, self.p["min_dwell_s"]
        back = sorted(
            j for j in pulled
            if state.agents[j].mode == rule["to"] and now - state.agents[j].mode_since >= dwell and j not in moves
        )[: rule["step"]]
        for j in back:
            moves[j] = rule["from"]
        pulled.difference_update(back)
        pulled.intersection_update(j for j in pulled if state.agents[j].mode == rule["to"])

"""Memoised answers to questions that ask one another, the same whatever order they are asked in.

resolve.py (what can `loader` be?), taint.py (does request data reach `buf`?) and sinks.py
(is `m` a model?) answer a question by asking others, and bindings make cycles: `loader =
other` and `other = loader` in a loop. Storing what a question computed while a cycle through
it was still open (the open question answering "nothing yet") made answers depend on which
question came first: `other(blob)` lost its finding when `loader(blob)` was asked before it.

So an answer is stored only once it is final. Questions are explored depth first, and their
cycles found as strongly connected components (Tarjan: each question gets a discovery index
and the lowest index of an open question it reached; one that reached none older than itself
closes a component). While a component is open, asking one of its questions again answers
`bottom` and nothing of it is stored. When it closes, its members are solved together in
rounds: each round evaluates members against the previous round's answers only (Jacobi
iteration, so the order members are evaluated in cannot matter) and joins each result into
the member's answer; the next round evaluates only members that read an answer that changed.
With a monotone `join` over finitely many values this reaches the least fixpoint, a function
of the questions alone; then every member's answer is stored at once.

What a question asks may depend on answers (`getattr(m, "loads")` is followed once `m`
resolves), so a round can reach a question that leads back into the component: the component
grows and its rounds start again from `bottom`. If it leads to an open question older than
the component, the component was part of a larger one, which solves it when it closes.

Every new question checks the file's time budget (budget.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from mllint_sec.python import budget

V = TypeVar("V")


class Answers(Generic[V]):
    def __init__(self, bottom: V, join: Callable[[V, V], V], saturated: Callable[[V], bool] = lambda value: False):
        """`join(old, new)`: the answer once `new` is learnt (monotone, `old` when nothing is new);
        `saturated(value)`: no join can change it, so its question need not be evaluated again."""
        self.bottom = bottom
        self.join = join
        self.saturated = saturated
        self._final: dict[Hashable, V] = {}
        # Open questions: discovery index, lowest index reached, position in `_open`.
        self._index: dict[Hashable, int] = {}
        self._low: dict[Hashable, int] = {}
        self._position: dict[Hashable, int] = {}
        self._open: list[tuple[Hashable, Callable[..., V], tuple[Any, ...]]] = []  # Tarjan's stack, oldest first
        self._asking: list[Hashable] = []  # the questions being computed right now, innermost last
        self._looped: set[Hashable] = set()  # open questions that were asked again
        self._previous: dict[Hashable, V] = {}  # members of components being solved: last round's answers
        self._readers: dict[Hashable, set[Hashable]] = {}  # member -> members that read its answer
        self._discovered = 0

    def settled(self, key: Hashable) -> bool:
        """Whether `key` has its final answer (not a member of a cycle still being worked out)."""
        return key in self._final

    def get(self, key: Hashable, compute: Callable[..., V], *args: Any) -> V:
        """The answer to `key`, computed by `compute(*args)` (which may ask further questions)."""
        try:
            return self._final[key]
        except KeyError:
            pass
        budget.check()
        index = self._index.get(key)
        if index is None:
            return self._visit(key, compute, args)
        asker = self._asking[-1]
        self._low[asker] = min(self._low[asker], index)
        self._looped.add(key)
        if key in self._previous:
            self._readers.setdefault(key, set()).add(asker)
            return self._previous[key]
        return self.bottom

    def _visit(self, key: Hashable, compute: Callable[..., V], args: tuple[Any, ...]) -> V:
        index = self._discovered
        self._discovered += 1
        self._index[key] = self._low[key] = index
        self._position[key] = len(self._open)
        self._open.append((key, compute, args))
        self._asking.append(key)
        try:
            value = compute(*args)
        finally:
            self._asking.pop()
        low = self._low[key]
        if low < index:  # reached an older open question: part of a component still open
            if self._asking:
                asker = self._asking[-1]
                self._low[asker] = min(self._low[asker], low)
            return value
        if self._position[key] == len(self._open) - 1 and key not in self._looped:
            self._close(self._position[key], {key: value})  # no cycle: the answer is final
            return value
        return self._solve(key)

    def _solve(self, root: Hashable) -> V:
        position = self._position[root]
        while True:
            members = self._open[position:]
            answers = {key: self.bottom for key, _, _ in members}
            self._previous.update(answers)
            schedule = [key for key, _, _ in members]
            grown = False
            while schedule and not grown:
                changed = {}
                for key in schedule:
                    if self.saturated(answers[key]):
                        continue
                    _, compute, args = self._open[self._position[key]]
                    self._asking.append(key)
                    try:
                        result = compute(*args)
                    finally:
                        self._asking.pop()
                    self._low[root] = min(self._low[root], self._low[key])
                    joined = self.join(answers[key], result)
                    if joined is not answers[key] and joined != answers[key]:
                        changed[key] = joined
                grown = len(self._open) > position + len(members)
                if self._low[root] < self._index[root]:  # reached an older open question
                    for key, _, _ in members:
                        self._previous.pop(key, None)
                        self._readers.pop(key, None)
                    if self._asking:
                        asker = self._asking[-1]
                        self._low[asker] = min(self._low[asker], self._low[root])
                    return answers[root]
                answers.update(changed)
                self._previous.update(changed)
                readers = [reader for key in changed for reader in self._readers.get(key, ())]
                schedule = [key for key in dict.fromkeys(readers) if key in answers]
            if not grown:
                self._close(position, answers)
                return answers[root]
            for key, _, _ in members:
                self._readers.pop(key, None)

    def _close(self, position: int, answers: dict[Hashable, V]) -> None:
        for key, _, _ in self._open[position:]:
            self._final[key] = answers[key]
            del self._index[key], self._low[key], self._position[key]
            self._previous.pop(key, None)
            self._readers.pop(key, None)
            self._looped.discard(key)
        del self._open[position:]

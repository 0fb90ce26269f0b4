"""The judge's process: run tests that are more than `assert CALL == EXPECTED`, with no candidate code.

The tests run here as ordinary Python (`def test_*` functions, a dataset's `check(candidate)`,
asserts with computed expected values). The candidate's globals appear in each test's
namespace as what the candidate's process said they are: plain values as fresh copies, and
everything else (functions, classes, objects) as `Remote` proxies. Calling a proxy sends the
arguments, as plain data, through the parent to the candidate's process and gives back the
result as plain data (or a proxy for an object that is not). So the candidate's code never
runs in this process, the candidate never sees a test's expected values, and every
comparison here is between plain values this process built itself: an object whose
`__eq__` always says True is a proxy here, equal to nothing but itself.

Mutable plain arguments (list, dict, set, bytearray) are updated in place from the
candidate's copies after the call, so tests of in-place functions work. A test may not pass
its own functions (say, a key=lambda) to the candidate: only plain data and the candidate's
own objects cross.
"""

import builtins
import sys

MARK = "\x00o1"  # first item of the message tuple of a rewritten assert (see o1coder.sandbox.prepare)


class CandidateTimeout(BaseException):  # a BaseException: a test's `except Exception` lets it through
    pass


class CandidateGone(BaseException):
    pass


class NotSendable(TypeError):
    pass


class UntrustedTruth(TypeError):
    pass


def serve(payload: dict, kit, plain) -> None:
    tests = {index: (code, calls) for index, code, calls in payload["tests"]}
    workspace = payload.get("workspace")
    del payload
    if workspace:  # tests may import helpers of the user's package
        sys.path[:0] = workspace["paths"]
    rpc = Rpc(kit, plain)
    table = None
    while True:
        request = kit.receive()
        kind = request[0]
        if kind == "bye":
            kit.exit()
        if kind == "names":
            table = request[1]
            continue
        if kind != "run" or table is None:
            kit.exit()
        index, seconds = request[1], float(request[2])
        code, calls = tests[index]
        rpc.notes = []
        namespace = rpc.namespace(table)
        kit.restore_builtins()
        _, failure, _ = kit.guarded(run_test, (code, namespace, calls), seconds)
        kit.flush()
        status, message = ("passed", "") if failure is None else outcome(kit, failure, seconds)
        kit.send(["end", index, status, message, rpc.notes[:20]])


def run_test(code, namespace, calls) -> None:
    exec(code, namespace)
    for name in calls:
        namespace[name]()


def outcome(kit, exc, seconds) -> tuple:
    """(status, message) of a test that raised exc."""
    if type(exc) is kit.Timeout or type(exc) is CandidateTimeout:
        return "timeout", f"timed out after {seconds:g} s"
    failed = issubclass(type(exc), AssertionError)
    args = exc.args
    if (
        failed
        and type(args) is tuple
        and args
        and type(args[0]) is tuple
        and len(args[0]) in (2, 3)
        and args[0][0] == MARK
    ):
        text = str.__str__(args[0][1])
        if len(args[0]) == 3:
            got, trouble, _ = kit.guarded(repr, (args[0][2],), 1.0)
            got = str.__str__(got) if trouble is None and isinstance(got, str) else "(unprintable)"
            text += " (got " + (got if len(got) <= 300 else got[:300] + "...") + ")"
        return "failed", text[:2000]
    line = getattr(exc, "_o1_candidate_message", None)
    message = line if type(line) is str else kit.text_of(exc)
    if issubclass(type(exc), (SystemExit, KeyboardInterrupt, GeneratorExit)):
        message = "exited (" + message + ") instead of returning"
    return ("failed" if failed else "error"), message[:2000]


class Rpc:
    """The judge's side of the remote calls: encode, send through the parent, decode."""

    def __init__(self, kit, plain):
        self.kit, self.plain = kit, plain
        self.remotes: dict[int, Remote] = {}
        self.next_id = 0
        self.notes: list[str] = []
        self.raised: dict[tuple, type] = {}

    def remote(self, number, type_name, is_callable):
        found = self.remotes.get(number)
        if found is None:
            found = self.remotes[number] = (RemoteCallable if is_callable else Remote)(self, number, type_name)
        return found

    def namespace(self, table) -> dict:
        ns = {"__builtins__": dict(self.kit.pristine), "__name__": "__test__"}
        for kind, name, detail in table:
            if name in ns["__builtins__"]:
                continue  # tests see the real builtins, whatever the candidate named its globals
            if kind == "module":
                try:
                    ns[name] = __import__(detail, fromlist=["_"]) if "." in detail else __import__(detail)
                except BaseException:  # a module the judge cannot import is left out
                    continue
            else:
                try:
                    ns[name] = self.plain.decode(detail, self.remote, resolve=True)
                except self.plain.PlainError:  # what cannot be rebuilt here is left out
                    continue
        return ns

    def send_value(self, value):
        def handle(obj):
            if isinstance(obj, Remote):
                return [self.plain.HANDLE, obj._number, "", False]
            raise NotSendable(
                f"the test passes a {type(obj).__name__} to the candidate; only plain data and the "
                "candidate's own objects cross the sandbox"
            )

        return self.plain.encode(value, self.plain.Budget(), handle)

    def request(self, kind, *fields):
        self.next_id += 1
        rid = self.next_id
        self.kit.send([kind, rid, *fields, 0.0])
        while True:
            reply = self.kit.receive()
            if reply[0] == "gone":
                raise CandidateGone(str(reply[-1]))
            if len(reply) >= 2 and reply[1] == rid:
                break
        if reply[0] == "timeout":
            raise CandidateTimeout()
        if reply[0] == "raised":
            raise self.exception(reply[2])
        value = self.plain.decode(reply[2], self.remote, resolve=True)
        return value, reply[3]

    def exception(self, info: dict) -> BaseException:
        """An exception of the candidate's exception's builtin base class, carrying its message."""
        name, bases, message = str(info.get("type")), info.get("bases") or [], str(info.get("message"))
        base = Exception
        for candidate_base in bases:
            found = builtins.__dict__.get(candidate_base) if type(candidate_base) is str else None
            if isinstance(found, type) and issubclass(found, Exception):
                base = found
                break
            if isinstance(found, type) and issubclass(found, BaseException):
                base = CandidateExit
                break
        key = (name, base)
        cls = self.raised.get(key)
        if cls is None:
            cls = self.raised[key] = type(name, (base,), {"__module__": "candidate"})
        exc = cls(message)
        exc._o1_candidate_message = message
        return exc

    def call(self, number, args, kwargs):
        value, writeback = self.request("call", number, self.send_value(args), self.send_value(kwargs))
        for where, tree in writeback:
            target = args[where] if type(where) is int and 0 <= where < len(args) else kwargs.get(where)
            new = self.plain.decode(tree, self.remote, resolve=True)
            if type(target) is list and type(new) is list or type(target) is bytearray and type(new) is bytearray:
                target[:] = new
            elif type(target) is type(new) and type(new) in (dict, set):
                target.clear()
                target.update(new)
        return value

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


class CandidateExit(Exception):
    """The candidate raised SystemExit, KeyboardInterrupt or GeneratorExit."""


class Remote:
    """An object of the candidate's, kept in the candidate's process; equal only to itself."""

    __slots__ = ("_rpc", "_number", "_type_name")

    def __init__(self, rpc, number, type_name):
        self._rpc, self._number, self._type_name = rpc, number, type_name

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._rpc.request("attr", self._number, name)[0]

    def _op(self, op, *args):
        return self._rpc.request("op", self._number, op, self._rpc.send_value(args))[0]

    def __len__(self):
        return self._op("len")

    def __iter__(self):
        return iter(self._op("iter"))

    def __getitem__(self, key):
        return self._op("getitem", key)

    def __contains__(self, item):
        return self._op("contains", item)

    def __repr__(self):
        text = self._op("repr")
        return text if type(text) is str else f"<{self._type_name}>"

    def __str__(self):
        text = self._op("str")
        return text if type(text) is str else f"<{self._type_name}>"

    def __eq__(self, other):
        """Equal by state, never by the candidate's own `__eq__`: the same class with equal fields
        (and, for a subclass of a builtin type, an equal base value); against plain data, by the
        base value alone."""
        if other is self:
            return True
        mine = self._op("state")
        if isinstance(other, Remote):
            return mine == other._op("state")
        if mine[1] is not None:
            return mine[1] == other
        self._rpc.note(
            f"a {self._type_name} object of the candidate's (not plain data) was compared with plain data: unequal"
        )
        return False

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __bool__(self):
        self._rpc.note(f"the truth value of a {self._type_name} object of the candidate's is not trusted")
        raise UntrustedTruth(
            f"the candidate returned a {self._type_name} object, not plain data; its truth value is not trusted"
        )


class RemoteCallable(Remote):
    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._rpc.call(self._number, args, kwargs)

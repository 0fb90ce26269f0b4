"""The candidate's process: load the candidate code, then answer requests with plain data.

It evaluates the call side of the parent's fast tests (`assert CALL == EXPECTED`: it gets
CALL only, never EXPECTED) and the judge's remote operations on the candidate's objects
(call, attribute, len/iter/getitem/contains/repr/str). Every answer is a value encoded as
plain data (see `plain`), or the exception it raised, or a timeout. Nothing here decides a
verdict: whatever this process is made to say, it can only say what the candidate's code
returned, which is exactly what is being judged.

Objects that are not plain data are kept here in a table and named by handles; a handle
the judge sends back is looked up in that table.
"""

import builtins
import sys

CANDIDATE_FILE = "<candidate>"
MAX_ITEMS = 100_000  # of an iterator the judge materialises (list(obj))
MUTABLE = (list, dict, set, bytearray)


def serve(payload: dict, kit, plain) -> None:
    code, fast = payload["code"], {index: (pre, expr) for index, pre, expr in payload["fast"]}
    workspace = payload.get("workspace")
    del payload
    if workspace:  # the user's package, importable as the module under test imports it
        sys.path[:0] = workspace["paths"]
    namespace = {"__name__": "__candidate__", "__builtins__": builtins}
    if workspace and workspace.get("module"):  # run as the module itself: relative imports resolve
        name = workspace["module"]
        namespace["__name__"] = name
        namespace["__package__"] = name if workspace.get("is_package") else name.rpartition(".")[0]
    _, failure, _ = kit.guarded(exec, (code, namespace), kit.timeout)
    kit.restore_builtins()  # after every run of candidate code: the harness below uses them too
    kit.flush()
    if failure is not None:
        if type(failure) is kit.Timeout:
            message = f"the candidate code did not finish loading within {kit.timeout:g} s"
        else:
            message = describe(kit, failure)["message"]
        kit.send(["loaded", False, message, []])
        kit.exit()
    table = Handles(kit, plain)
    shadowing = [k for k in namespace if type(k) is str and k in kit.pristine and not k.startswith("__")]
    kit.send(["loaded", True, "", table.names(namespace)])

    def evaluate(index):
        preamble, expr = fast[index]
        ns = dict(namespace)
        for k in shadowing:
            ns[k] = kit.pristine[k]  # tests see the real builtins, whatever the candidate named its globals
        ns["__builtins__"] = dict(kit.pristine)
        ns["__name__"] = "__test__"
        if preamble is not None:
            exec(preamble, ns)
        return eval(expr, ns), ()

    while True:
        request = kit.receive()
        kind = request[0]
        if kind == "bye":
            kit.exit()
        try:
            rid, seconds = request[1], float(request[-1])
            if kind == "eval":
                work, args = evaluate, (request[2],)
            elif kind == "call":
                work, args = table.call, (request[2], request[3], request[4])
            elif kind == "attr":
                work, args = table.attribute, (request[2], request[3])
            elif kind == "op":
                work, args = table.operate, (request[2], request[3], request[4])
            else:
                raise ValueError(kind)
        except (IndexError, TypeError, ValueError, KeyError):
            kit.send(["raised", None, {"type": "SandboxError", "bases": [], "message": "bad request", "line": 0}])
            continue
        kit.restore_builtins()
        result, failure, seconds_taken = kit.guarded(work, args, seconds)
        kit.restore_builtins()
        kit.flush()
        if failure is None:
            value, writeback = result
            budget = max(seconds - seconds_taken, 1.0)
            # the parent's checks get values only (a builtin subclass as its base value); the
            # judge's calls get handles for objects, so their methods stay callable
            reply, trouble, _ = kit.guarded(table.encode_reply, (rid, value, writeback, kind != "eval"), budget)
            kit.restore_builtins()
            if trouble is None:
                kit.send(reply)
                continue
            failure = trouble
        if type(failure) is kit.Timeout:
            kit.send(["timeout", rid])
        else:
            kit.send(["raised", rid, describe(kit, failure)])


def describe(kit, exc) -> dict:
    """What the judge needs to re-raise exc and what a report says of it."""
    line = kit.code_line(exc, CANDIDATE_FILE)
    BaseException.with_traceback(exc, None)  # free the failed code's frames (say, what filled the memory)
    message = kit.text_of(exc)
    if line:
        message += f" (candidate line {line})"
    return {"type": kit.type_name(type(exc)), "bases": kit.builtin_bases(type(exc)), "message": message, "line": line}


class Handles:
    """The candidate's non-plain objects, by handle number, and the operations on them."""

    def __init__(self, kit, plain):
        self.kit, self.plain = kit, plain
        self.objects: dict[int, object] = {}
        self.numbers: dict[int, int] = {}  # id(obj) -> handle

    def handle(self, obj) -> list:
        number = self.numbers.get(id(obj))
        if number is None:
            number = len(self.objects) + 1
            self.objects[number] = obj
            self.numbers[id(obj)] = number
        return [self.plain.HANDLE, number, self.plain._type_name(obj), callable(obj)]

    def encode(self, value) -> list:
        return self.plain.encode(value, self.plain.Budget(), self.handle)

    def names(self, namespace: dict) -> list:
        """[kind, name, detail] for each public global: a module's name, or the encoded value."""
        module_type = type(builtins)
        out = []
        for name, value in list(namespace.items()):
            if type(name) is not str or name.startswith("__"):
                continue
            if type(value) is module_type:
                module_name = value.__dict__.get("__name__")
                if type(module_name) is str:
                    out.append(["module", name, module_name])
                continue
            try:
                out.append(["value", name, self.encode(value)])
            except Exception:
                out.append(["value", name, self.handle(value)])
        return out

    def _decode(self, tree):
        def lookup(number, _type_name, _callable):
            if number not in self.objects:
                raise self.plain.PlainError(f"no object with handle {number}")
            return self.objects[number]

        return self.plain.decode(tree, lookup, resolve=True)

    def _object(self, number):
        if type(number) is not int or number not in self.objects:
            raise LookupError(f"no object with handle {number!r}")
        return self.objects[number]

    def call(self, number, args_tree, kwargs_tree):
        fn = self._object(number)
        args = self._decode(args_tree)
        kwargs = self._decode(kwargs_tree)
        if type(args) is not tuple or type(kwargs) is not dict:
            raise TypeError("bad call arguments")
        value = fn(*args, **kwargs)
        mutable = [(i, a) for i, a in enumerate(args) if type(a) in MUTABLE]
        mutable += [(k, a) for k, a in kwargs.items() if type(a) in MUTABLE]
        return value, mutable

    def attribute(self, number, name):
        if type(name) is not str:
            raise TypeError("attribute names are strings")
        return getattr(self._object(number), name), ()

    def operate(self, number, op, args_tree):
        obj, args = self._object(number), self._decode(args_tree)
        if type(args) is not tuple:
            raise TypeError("bad operation arguments")
        if op == "len":
            return len(obj), ()
        if op == "iter":
            items = []
            for item in obj:
                items.append(item)
                if len(items) > MAX_ITEMS:
                    raise OverflowError(f"more than {MAX_ITEMS} items")
            return items, ()
        if op == "getitem":
            return obj[args[0]], ()
        if op == "contains":
            return args[0] in obj, ()
        if op == "repr":
            return str.__str__(repr(obj)), ()
        if op == "str":
            return str.__str__(str(obj)), ()
        if op == "state":
            return self.state(obj), ()
        raise ValueError(f"unknown operation {op!r}")

    def state(self, obj) -> tuple:
        """(class name, base value, fields): what the judge compares objects by (no `__eq__` runs).

        The base value is a builtin subclass's value (a namedtuple's tuple), else None; the
        fields are the instance's `__dict__` and slots, read through `object`'s own lookup.
        """
        cls = type(obj)
        base = None
        if issubclass(cls, self.plain._PLAIN):
            base = self.plain.decode(self.plain.encode(obj))
        fields = {}
        try:
            found = object.__getattribute__(obj, "__dict__")
            if type(found) is dict:
                fields.update(found)
        except AttributeError:
            pass
        for klass in type.__dict__["__mro__"].__get__(cls):
            slots = klass.__dict__.get("__slots__", ())
            for name in (slots,) if type(slots) is str else slots if type(slots) in (tuple, list) else ():
                if type(name) is str and name not in ("__dict__", "__weakref__") and name not in fields:
                    try:
                        fields[name] = object.__getattribute__(obj, name)
                    except AttributeError:
                        continue
        return (self.plain._type_name(obj), base, fields)

    def encode_reply(self, rid, value, writeback, handles: bool = True) -> list:
        encode = self.encode if handles else self.plain.encode
        back = [[where, encode(arg)] for where, arg in writeback]
        return ["ok", rid, encode(value), back]

using System.Runtime.InteropServices;
using System.Text;

namespace Cria.Formats.PyTorch;

/// <summary>Reads the pickle of a torch.save checkpoint (data.pkl) without executing anything. It builds None, bools,
/// ints, floats, strings, bytes, lists, tuples, sets, dicts and OrderedDicts, and tensors through the few globals of
/// <see cref="TorchGlobals"/>, which it interprets itself (<c>_rebuild_tensor_v2</c> and friends, storage classes,
/// dtypes); storages come from persistent ids <c>('storage', torch.XStorage, key, location, numel)</c>.
/// A first pass decodes every instruction and refuses any other global, any unsupported opcode and any truncation
/// before a single object is built. Memory is bounded by the pickle's size and an instruction count.</summary>
internal sealed class RestrictedUnpickler
{
    /// <summary>Most instructions accepted (a torch state dict uses about 40 per tensor).</summary>
    public const int MaxInstructions = 2_000_000;
    public const int MaxDimensions = 64;

    private readonly string _source;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];
    private readonly Dictionary<string, TorchStorageRef> _storages = new(StringComparer.Ordinal);
    private int _offset; // of the instruction being run, for messages

    private RestrictedUnpickler(string source) => _source = source;

    /// <summary>The object the pickle describes; errors name <paramref name="source"/>.</summary>
    public static object? Load(ReadOnlySpan<byte> pickle, string source)
    {
        Scan(pickle, source);
        return new RestrictedUnpickler(source).Run(pickle);
    }

    // First pass: decodes everything and refuses forbidden globals, unsupported opcodes and truncation up front.
    private static void Scan(ReadOnlySpan<byte> pickle, string source)
    {
        var cursor = new PickleCursor(pickle, source);
        int count = 0;
        ReadOnlySpan<byte> last = default, beforeLast = default; // the latest string literals, which STACK_GLOBAL usually takes
        int strings = 0;
        while (cursor.Next(out var op))
        {
            if (++count > MaxInstructions)
                throw cursor.Error(op.Offset, $"more than {MaxInstructions:N0} pickle instructions, too many for a checkpoint");
            switch (op.Opcode)
            {
                case PickleOpcode.Stop:
                    return;
                case PickleOpcode.Global:
                    CheckGlobal(Text(op.Bytes), Text(op.Bytes2), op.Offset, source);
                    break;
                case PickleOpcode.Inst:
                    CheckGlobal(Text(op.Bytes), Text(op.Bytes2), op.Offset, source);
                    throw Unsupported(cursor, op);
                case PickleOpcode.StackGlobal when strings >= 2:
                    CheckGlobal(Text(beforeLast), Text(last), op.Offset, source);
                    break;
                case PickleOpcode.PersId or PickleOpcode.String or PickleOpcode.Unicode or PickleOpcode.Obj or PickleOpcode.Ext1
                    or PickleOpcode.Ext2 or PickleOpcode.Ext4 or PickleOpcode.NewObjEx or PickleOpcode.NextBuffer or PickleOpcode.ReadOnlyBuffer:
                    throw Unsupported(cursor, op);
            }
            if (op.Opcode is PickleOpcode.ShortBinUnicode or PickleOpcode.BinUnicode or PickleOpcode.BinUnicode8
                or PickleOpcode.ShortBinString or PickleOpcode.BinString)
            {
                beforeLast = last;
                last = op.Bytes;
                strings++;
            }
            else if (op.Opcode is not (PickleOpcode.Memoize or PickleOpcode.BinPut or PickleOpcode.LongBinPut or PickleOpcode.Put or PickleOpcode.Frame))
            {
                strings = 0;
            }
        }
        throw new ModelFormatException($"{source}: the pickle ends without a STOP instruction (truncated)");
    }

    private static void CheckGlobal(string module, string name, int offset, string source)
    {
        if (!TorchGlobals.TryResolve(module, name, out _)) throw TorchGlobals.Refusal(source, module, name, offset);
    }

    private static ModelFormatException Unsupported(PickleCursor cursor, PickleInstruction op) =>
        cursor.Error(op.Offset, $"pickle opcode {PickleCursor.Name(op.Opcode)} is not supported: torch.save does not write it, and it could " +
                                "construct objects Cria does not rebuild");

    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private object? Run(ReadOnlySpan<byte> pickle)
    {
        var cursor = new PickleCursor(pickle, _source);
        while (cursor.Next(out var op))
        {
            _offset = op.Offset;
            switch (op.Opcode)
            {
                case PickleOpcode.Proto:
                    if (op.Integer > 5) throw Error($"pickle protocol {op.Integer} is newer than the 5 Cria reads");
                    break;
                case PickleOpcode.Frame:
                    break;
                case PickleOpcode.Stop:
                    return Pop();
                case PickleOpcode.Mark:
                    _marks.Add(_stack.Count);
                    break;
                case PickleOpcode.Pop:
                    if (_stack.Count > Base) _stack.RemoveAt(_stack.Count - 1);
                    else PopToMark();
                    break;
                case PickleOpcode.PopMark:
                    PopToMark();
                    break;
                case PickleOpcode.Dup:
                    Push(Peek());
                    break;
                case PickleOpcode.Int:
                    Push(op.IsBool ? op.Integer != 0 : op.Integer);
                    break;
                case PickleOpcode.BinInt or PickleOpcode.BinInt1 or PickleOpcode.BinInt2 or PickleOpcode.Long or PickleOpcode.Long1 or PickleOpcode.Long4:
                    Push(op.Integer);
                    break;
                case PickleOpcode.None:
                    Push(null);
                    break;
                case PickleOpcode.NewTrue:
                    Push(true);
                    break;
                case PickleOpcode.NewFalse:
                    Push(false);
                    break;
                case PickleOpcode.Float or PickleOpcode.BinFloat:
                    Push(op.Float);
                    break;
                case PickleOpcode.ShortBinUnicode or PickleOpcode.BinUnicode or PickleOpcode.BinUnicode8 or PickleOpcode.ShortBinString or PickleOpcode.BinString:
                    Push(Text(op.Bytes)); // torch.load reads Python 2 strings as UTF-8 too
                    break;
                case PickleOpcode.ShortBinBytes or PickleOpcode.BinBytes or PickleOpcode.BinBytes8 or PickleOpcode.ByteArray8:
                    Push(op.Bytes.ToArray());
                    break;
                case PickleOpcode.EmptyList:
                    Push(new List<object?>());
                    break;
                case PickleOpcode.EmptyDict:
                    Push(new PickleDict());
                    break;
                case PickleOpcode.EmptyTuple:
                    Push(PickleTuple.Empty);
                    break;
                case PickleOpcode.EmptySet:
                    Push(new PickleSet());
                    break;
                case PickleOpcode.Tuple:
                    Push(new PickleTuple(PopToMark()));
                    break;
                case PickleOpcode.Tuple1 or PickleOpcode.Tuple2 or PickleOpcode.Tuple3:
                    Push(new PickleTuple(PopItems(op.Opcode - PickleOpcode.Tuple1 + 1)));
                    break;
                case PickleOpcode.List:
                    Push(new List<object?>(PopToMark()));
                    break;
                case PickleOpcode.Dict:
                    var dict = new PickleDict();
                    SetItems(dict, PopToMark());
                    Push(dict);
                    break;
                case PickleOpcode.FrozenSet:
                    var frozen = new PickleSet();
                    frozen.Items.AddRange(PopToMark());
                    Push(frozen);
                    break;
                case PickleOpcode.Append:
                    var item = Pop();
                    Target<List<object?>>("APPEND").Add(item);
                    break;
                case PickleOpcode.Appends:
                    var items = PopToMark();
                    Target<List<object?>>("APPENDS").AddRange(items);
                    break;
                case PickleOpcode.AddItems:
                    var setItems = PopToMark();
                    Target<PickleSet>("ADDITEMS").Items.AddRange(setItems);
                    break;
                case PickleOpcode.SetItem:
                    var value = Pop();
                    var key = Pop();
                    Target<PickleDict>("SETITEM").Set(key, value, Error);
                    break;
                case PickleOpcode.SetItems:
                    var pairs = PopToMark();
                    SetItems(Target<PickleDict>("SETITEMS"), pairs);
                    break;
                case PickleOpcode.Get or PickleOpcode.BinGet or PickleOpcode.LongBinGet:
                    if (!_memo.TryGetValue(op.Integer, out var memoized)) throw Error($"memo entry {op.Integer} is read before it is written");
                    Push(memoized);
                    break;
                case PickleOpcode.Put or PickleOpcode.BinPut or PickleOpcode.LongBinPut:
                    if (op.Integer < 0) throw Error($"negative memo index {op.Integer}");
                    _memo[op.Integer] = Peek();
                    break;
                case PickleOpcode.Memoize:
                    _memo[_memo.Count] = Peek();
                    break;
                case PickleOpcode.Global:
                    Push(Resolve(Text(op.Bytes), Text(op.Bytes2)));
                    break;
                case PickleOpcode.StackGlobal:
                    var name = Pop();
                    var module = Pop();
                    if (module is not string m || name is not string n) throw Error($"STACK_GLOBAL takes two strings, not {Describe.Value(module)} and {Describe.Value(name)}");
                    Push(Resolve(m, n));
                    break;
                case PickleOpcode.BinPersId:
                    Push(PersistentLoad(Pop()));
                    break;
                case PickleOpcode.Reduce:
                    var arguments = Pop();
                    var callable = Pop();
                    Push(Call(callable, arguments as PickleTuple ?? throw Error($"REDUCE arguments are {Describe.Value(arguments)}, not a tuple")));
                    break;
                case PickleOpcode.NewObj:
                    var newArguments = Pop();
                    var type = Pop();
                    if (type is not TorchGlobal { Kind: TorchGlobalKind.OrderedDict } || newArguments is not PickleTuple { Count: 0 })
                        throw Error($"NEWOBJ of {Describe.Value(type)}: Cria only creates OrderedDicts this way");
                    Push(new PickleDict());
                    break;
                case PickleOpcode.Build:
                    var state = Pop();
                    var target = Peek();
                    // An OrderedDict state dict carries its _metadata attribute this way; tensors may carry Python attributes.
                    if (target is not (PickleDict or TorchTensorRef))
                        throw Error($"BUILD sets the state of {Describe.Value(target)}; Cria only accepts it on dicts and tensors");
                    _ = state;
                    break;
                default:
                    throw Error($"pickle opcode {PickleCursor.Name(op.Opcode)} is not supported");
            }
        }
        throw Error("the pickle ends without a STOP instruction (truncated)");
    }

    private ModelFormatException Error(string what) => new($"{_source}: {what} (at byte {_offset} of the pickle)");

    // The stack above the innermost MARK is the one instructions see, as in CPython's unpickler.
    private int Base => _marks.Count == 0 ? 0 : _marks[^1];

    private void Push(object? value) => _stack.Add(value);

    private object? Pop()
    {
        if (_stack.Count <= Base) throw Error("the pickle pops from an empty stack (malformed)");
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Peek()
    {
        if (_stack.Count <= Base) throw Error("the pickle reads an empty stack (malformed)");
        return _stack[^1];
    }

    private object?[] PopItems(int count)
    {
        if (_stack.Count - Base < count) throw Error("the pickle pops from an empty stack (malformed)");
        var items = CollectionsMarshal.AsSpan(_stack)[(_stack.Count - count)..].ToArray();
        _stack.RemoveRange(_stack.Count - count, count);
        return items;
    }

    private object?[] PopToMark()
    {
        if (_marks.Count == 0) throw Error("the pickle closes a MARK it never opened (malformed)");
        int mark = _marks[^1];
        var items = CollectionsMarshal.AsSpan(_stack)[mark..].ToArray();
        _stack.RemoveRange(mark, _stack.Count - mark);
        _marks.RemoveAt(_marks.Count - 1);
        return items;
    }

    private T Target<T>(string opcode) where T : class =>
        Peek() as T ?? throw Error($"{opcode} applies to {Describe.Value(Peek())}");

    private void SetItems(PickleDict dict, object?[] items)
    {
        if (items.Length % 2 != 0) throw Error($"a dict is given {items.Length} items, not key/value pairs");
        for (int i = 0; i < items.Length; i += 2) dict.Set(items[i], items[i + 1], Error);
    }

    private TorchGlobal Resolve(string module, string name) =>
        TorchGlobals.TryResolve(module, name, out var global) ? global : throw TorchGlobals.Refusal(_source, module, name, _offset);

    // ('storage', torch.XStorage, key, location, numel): a storage whose bytes are the zip record data/<key>.
    private TorchStorageRef PersistentLoad(object? id)
    {
        if (id is not PickleTuple { Count: 5 } t || t.Items[0] is not "storage")
            throw Error($"persistent id {Describe.Value(id)} is not ('storage', type, key, location, numel)");
        if (t.Items[1] is not TorchGlobal { Kind: TorchGlobalKind.StorageType } type)
            throw Error($"a storage's type is {Describe.Value(t.Items[1])}, not a torch storage class");
        if (t.Items[2] is not string key || t.Items[3] is not string location || t.Items[4] is not long count || count < 0)
            throw Error("a storage's persistent id has a malformed key, location or element count");
        if (count > long.MaxValue / 16) throw Error($"storage '{key}' claims {count} elements");
        var storage = new TorchStorageRef(key, type.Dtype!, location, count);
        if (_storages.TryGetValue(key, out var seen))
        {
            // Views of one storage name it again; it must be the same storage.
            if (seen.Dtype != storage.Dtype || seen.ElementCount != storage.ElementCount)
                throw Error($"storage '{key}' is named as {seen.Dtype} x {seen.ElementCount} and as {storage.Dtype} x {storage.ElementCount}");
            return seen;
        }
        _storages.Add(key, storage);
        return storage;
    }

    private object Call(object? callable, PickleTuple arguments)
    {
        if (callable is not TorchGlobal global) throw Error($"REDUCE calls {Describe.Value(callable)}, which is not callable");
        var a = arguments.Items;
        switch (global.Kind)
        {
            case TorchGlobalKind.OrderedDict:
                var dict = new PickleDict();
                if (a.Length == 0) return dict;
                if (a.Length == 1 && a[0] is List<object?> or PickleTuple)
                {
                    foreach (var pair in a[0] is List<object?> list ? list.ToArray() : ((PickleTuple)a[0]!).Items)
                    {
                        var kv = pair as PickleTuple ?? throw Error($"OrderedDict is given {Describe.Value(pair)}, not a (key, value) pair");
                        if (kv.Count != 2) throw Error($"OrderedDict is given a tuple of {kv.Count}, not a (key, value) pair");
                        dict.Set(kv.Items[0], kv.Items[1], Error);
                    }
                    return dict;
                }
                throw Error($"OrderedDict is called with {a.Length} arguments");
            case TorchGlobalKind.RebuildTensor:
                Arguments(global, a, 4, 4);
                return Tensor(global, a, dtype: null);
            case TorchGlobalKind.RebuildTensorV2:
                Arguments(global, a, 6, 7);
                return Tensor(global, a, dtype: null);
            case TorchGlobalKind.RebuildTensorV3:
                Arguments(global, a, 7, 8);
                if (a[6] is not TorchGlobal { Kind: TorchGlobalKind.Dtype } dtype) throw Error($"{global.FullName}'s dtype is {Describe.Value(a[6])}");
                return Tensor(global, a, dtype.Dtype);
            case TorchGlobalKind.RebuildParameter:
            case TorchGlobalKind.RebuildParameterWithState:
                Arguments(global, a, global.Kind == TorchGlobalKind.RebuildParameter ? 3 : 4, global.Kind == TorchGlobalKind.RebuildParameter ? 3 : 4);
                return a[0] as TorchTensorRef ?? throw Error($"{global.FullName} is given {Describe.Value(a[0])}, not a tensor");
            default:
                throw Error($"{global.FullName} is not callable in a checkpoint");
        }
    }

    private void Arguments(TorchGlobal global, object?[] a, int min, int max)
    {
        if (a.Length < min || a.Length > max)
            throw Error($"{global.FullName} is called with {a.Length} arguments, expected {(min == max ? min.ToString() : $"{min} or {max}")}");
    }

    // (storage, storage_offset, size, stride, …): offset and strides count elements of the tensor's dtype.
    private TorchTensorRef Tensor(TorchGlobal global, object?[] a, TorchDtype? dtype)
    {
        if (a[0] is not TorchStorageRef storage) throw Error($"{global.FullName} is given {Describe.Value(a[0])}, not a storage");
        if (a[1] is not long offset || offset < 0) throw Error($"{global.FullName} is given the storage offset {Describe.Value(a[1])}");
        var shape = Dimensions(a[2], "size");
        var stride = Dimensions(a[3], "stride");
        if (shape.Length != stride.Length) throw Error($"a tensor has {shape.Length} sizes but {stride.Length} strides");
        if (dtype != null && storage.Dtype != TorchDtype.UInt8 && storage.Dtype != dtype)
            throw Error($"a {dtype} tensor views the {storage.Dtype} storage '{storage.Key}'");
        return new TorchTensorRef(storage, dtype ?? storage.Dtype, offset, shape, stride);
    }

    private long[] Dimensions(object? value, string what)
    {
        var items = value switch
        {
            PickleTuple t => t.Items,
            List<object?> l => l.ToArray(),
            _ => throw Error($"a tensor's {what} is {Describe.Value(value)}, not a tuple"),
        };
        if (items.Length > MaxDimensions) throw Error($"a tensor's {what} has {items.Length} dimensions");
        var result = new long[items.Length];
        for (int i = 0; i < items.Length; i++)
            result[i] = items[i] is long v && v >= 0 ? v : throw Error($"a tensor's {what} holds {Describe.Value(items[i])}");
        return result;
    }
}

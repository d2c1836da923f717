using System.Runtime.InteropServices;

namespace GgmlReference;

/// <summary>The parts of one ggml CPU backend variant (libggml-cpu-&lt;arch&gt;.so) the generator calls: the activation
/// quantisers (<c>from_float</c> of a weight type's <c>vec_dot_type</c>) and the integer dot products (<c>vec_dot</c>),
/// as llama.cpp's decode matmul runs them. Load <see cref="Ggml"/> (libggml-base.so) first: the variant links to it.</summary>
internal sealed unsafe class GgmlCpu
{
    // struct ggml_type_traits_cpu (ggml-cpu.h): { ggml_from_float_t from_float; ggml_vec_dot_t vec_dot;
    // enum ggml_type vec_dot_type; int64_t nrows; }
    [StructLayout(LayoutKind.Sequential)]
    private struct TypeTraitsCpu
    {
        public nint FromFloat;
        public nint VecDot;
        public int VecDotType;
        public long Rows;
    }

    /// <summary>A weight type's kernels: <c>from_float(x, y, k)</c> makes the activations, <c>vec_dot(n, &amp;s, bs, x,
    /// bx, y, by, nrc)</c> the dot product of a weight row x with them.</summary>
    public sealed class DotTraits(int vecDotType, nint fromFloat, nint vecDot)
    {
        public int VecDotType => vecDotType;
        public delegate* unmanaged<float*, void*, long, void> FromFloat => (delegate* unmanaged<float*, void*, long, void>)fromFloat;
        public delegate* unmanaged<int, float*, nuint, void*, nuint, void*, nuint, int, void> VecDot =>
            (delegate* unmanaged<int, float*, nuint, void*, nuint, void*, nuint, int, void>)vecDot;
    }

    private readonly nint _lib;
    private readonly delegate* unmanaged<int, TypeTraitsCpu*> _getTypeTraitsCpu;

    public string LibraryPath { get; }

    /// <summary>The variant's name (<c>haswell</c>, <c>zen4</c>, …) from its file name.</summary>
    public string Variant { get; }

    /// <summary><c>ggml_backend_score()</c>: 0 when this CPU lacks an instruction set the variant was built for (calling
    /// its kernels would fault), else higher for better matches; ggml loads the highest.</summary>
    public int Score { get; }

    public GgmlCpu(string path)
    {
        LibraryPath = path;
        Variant = Path.GetFileNameWithoutExtension(path).Replace("libggml-cpu-", "");
        _lib = NativeLibrary.Load(path);
        Score = ((delegate* unmanaged<int>)NativeLibrary.GetExport(_lib, "ggml_backend_score"))();
        _getTypeTraitsCpu = (delegate* unmanaged<int, TypeTraitsCpu*>)NativeLibrary.GetExport(_lib, "ggml_get_type_traits_cpu");
    }

    /// <summary>ggml_cpu_init(): the backend's one-time set-up (tables, feature detection); ggml calls it before any kernel.</summary>
    public void Init()
    {
        if (Score == 0) throw new InvalidOperationException($"{Variant}: this CPU cannot run it (ggml_backend_score() = 0)");
        ((delegate* unmanaged<void>)NativeLibrary.GetExport(_lib, "ggml_cpu_init"))();
    }

    /// <summary>The kernels of weight type <paramref name="type"/>, checked against the exported functions they must be
    /// (<paramref name="fromFloatExport"/>, <paramref name="vecDotExport"/>) and the expected activation type, so a
    /// different struct layout or library fails loudly instead of calling through a wrong pointer.</summary>
    public DotTraits GetDotTraits(int type, int expectedVecDotType, string fromFloatExport, string vecDotExport)
    {
        TypeTraitsCpu* t = _getTypeTraitsCpu(type);
        if (t->VecDotType != expectedVecDotType)
            throw new InvalidOperationException($"{Variant}: type {type} has vec_dot_type {t->VecDotType}, expected {expectedVecDotType} (struct layout changed?)");
        if (t->Rows != 1)
            throw new InvalidOperationException($"{Variant}: type {type} computes {t->Rows} rows per vec_dot; the generator calls it for one");
        if (t->VecDot != NativeLibrary.GetExport(_lib, vecDotExport))
            throw new InvalidOperationException($"{Variant}: type {type}'s vec_dot is not {vecDotExport}");
        TypeTraitsCpu* a = _getTypeTraitsCpu(expectedVecDotType);
        if (a->FromFloat != NativeLibrary.GetExport(_lib, fromFloatExport))
            throw new InvalidOperationException($"{Variant}: type {expectedVecDotType}'s from_float is not {fromFloatExport}");
        return new DotTraits(expectedVecDotType, a->FromFloat, t->VecDot);
    }
}

namespace Cria.Tensors.Kernels.Gemm;

/// <summary>A small compile-time count: the micro-kernel is generic over these structs so the JIT builds one body
/// per tile shape, with every accumulator of an unused row vector or token folded away.</summary>
internal interface IGemmCount
{
    static abstract int Value { get; }
}

internal struct Count1 : IGemmCount { public static int Value => 1; }
internal struct Count2 : IGemmCount { public static int Value => 2; }
internal struct Count3 : IGemmCount { public static int Value => 3; }
internal struct Count4 : IGemmCount { public static int Value => 4; }
internal struct Count5 : IGemmCount { public static int Value => 5; }
internal struct Count6 : IGemmCount { public static int Value => 6; }

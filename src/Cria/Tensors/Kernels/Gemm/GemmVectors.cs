using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Kernels.Gemm;

/// <summary>The few float-vector operations the micro-kernel needs, so one generic body serves every SIMD width
/// (the JIT specialises it per struct and inlines these).</summary>
internal unsafe interface IGemmVector<TVector> where TVector : struct
{
    static abstract int Lanes { get; }
    static abstract TVector Load(float* p);
    static abstract TVector Broadcast(float* p);
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector c);
    static abstract TVector Add(TVector a, TVector b);
    static abstract void Store(TVector v, float* p);
}

/// <summary>AVX-512: 16 lanes, fused multiply-add (runs only where <see cref="SimdTier.Has512"/>).</summary>
internal unsafe struct GemmVector512 : IGemmVector<Vector512<float>>
{
    public static int Lanes => 16;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float* p) => Vector512.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> v, float* p) => v.Store(p);
}

/// <summary>AVX2 + FMA: 8 lanes (runs only where <see cref="SimdTier.Has256"/>).</summary>
internal unsafe struct GemmVector256 : IGemmVector<Vector256<float>>
{
    public static int Lanes => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float* p) => Vector256.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, float* p) => v.Store(p);
}

/// <summary>128-bit (SSE / NEON): 4 lanes; multiply-add fused where the hardware has it.</summary>
internal unsafe struct GemmVector128 : IGemmVector<Vector128<float>>
{
    public static int Lanes => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float* p) => Vector128.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> v, float* p) => v.Store(p);
}

/// <summary>Scalar: one lane, the portable body every machine runs.</summary>
internal unsafe struct GemmScalar : IGemmVector<float>
{
    public static int Lanes => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Broadcast(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float v, float* p) => *p = v;
}

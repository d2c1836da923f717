using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Loads that widen packed integers to 32-bit lanes (one vpmovzx/vpmovsx on x86), for the kernel bodies.</summary>
internal static unsafe class WideLoad
{
    // 512-bit bodies run only where SimdTier.Has512 holds (AVX-512 F+BW).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> U8x16(byte* p) => Avx512F.ConvertToVector512Int32(Vector128.Load(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> I8x16(byte* p) => Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> I16x16(byte* p) => Avx512F.ConvertToVector512Int32(Vector256.Load((short*)p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> U16x16(byte* p) => Avx512F.ConvertToVector512Int32(Vector256.Load((ushort*)p));

    // 256-bit bodies run only where SimdTier.Has256 holds (AVX2 + FMA).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> U8x8(byte* p) => Avx2.ConvertToVector256Int32(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> I8x8(byte* p) => Avx2.ConvertToVector256Int32((sbyte*)p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> I16x8(byte* p) => Avx2.ConvertToVector256Int32((short*)p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> U16x8(byte* p) => Avx2.ConvertToVector256Int32((ushort*)p);

    // 128-bit bodies are cross-platform: SSE4.1 where it exists, portable widening otherwise (NEON).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> U8x4(byte* p) => Sse41.IsSupported ? Sse41.ConvertToVector128Int32(p) : U8x4Portable(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> I8x4(byte* p) => Sse41.IsSupported ? Sse41.ConvertToVector128Int32((sbyte*)p) : I8x4Portable(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> I16x4(byte* p) => Sse41.IsSupported ? Sse41.ConvertToVector128Int32((short*)p) : I16x4Portable(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> U16x4(byte* p) => Sse41.IsSupported ? Sse41.ConvertToVector128Int32((ushort*)p) : U16x4Portable(p);

    // The portable forms, separate so that tests can check them on x86 too.
    internal static Vector128<int> U8x4Portable(byte* p) =>
        Vector128.WidenLower(Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(p)).AsByte())).AsInt32();

    internal static Vector128<int> I8x4Portable(byte* p) =>
        Vector128.WidenLower(Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(p)).AsSByte()));

    internal static Vector128<int> I16x4Portable(byte* p) =>
        Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(p)).AsInt16());

    internal static Vector128<int> U16x4Portable(byte* p) =>
        Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(p)).AsUInt16()).AsInt32();
}

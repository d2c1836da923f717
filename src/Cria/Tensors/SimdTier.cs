using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors;

/// <summary>Which vector width the kernels may use: 512, 256, 128 or 0 (scalar). Starts from the environment
/// variable <c>CRIA_MAX_VECTOR_BITS</c> (default: the widest the machine has); tests lower it to run every body.
/// Kernels read it once per call, and fall back to the next narrower body the hardware accelerates.</summary>
public static class SimdTier
{
    public const string EnvironmentVariable = "CRIA_MAX_VECTOR_BITS";

    private static volatile int _maxVectorBits = FromEnvironment();

    /// <summary>The widest vector body kernels may use (512, 256, 128, or 0 for scalar). Other values round down.</summary>
    public static int MaxVectorBits
    {
        get => _maxVectorBits;
        set => _maxVectorBits = Normalize(value);
    }

    /// <summary>The 512-bit bodies need AVX-512 F+BW (x86); they use vpermps/vpermt2ps and byte widening.</summary>
    public static bool Has512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx512BW.IsSupported;

    /// <summary>The 256-bit bodies need AVX2 + FMA (x86).</summary>
    public static bool Has256 => Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>The 128-bit bodies are cross-platform (SSE4.1 / NEON).</summary>
    public static bool Has128 => Vector128.IsHardwareAccelerated;

    /// <summary>The body a kernel runs for a setting of <paramref name="maxBits"/> on this machine.</summary>
    public static int Effective(int maxBits) =>
        maxBits >= 512 && Has512 ? 512 : maxBits >= 256 && Has256 ? 256 : maxBits >= 128 && Has128 ? 128 : 0;

    /// <summary>The body kernels run now.</summary>
    public static int Current => Effective(_maxVectorBits);

    internal static int Normalize(int bits) => bits >= 512 ? 512 : bits >= 256 ? 256 : bits >= 128 ? 128 : 0;

    private static int FromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(text)) return 512;
        if (!int.TryParse(text, out int bits) || bits < 0)
            throw new CriaException($"{EnvironmentVariable}='{text}' is not a vector width (use 512, 256, 128 or 0 for scalar)");
        return Normalize(bits);
    }
}

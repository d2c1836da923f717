using System.Globalization;
using System.Runtime.InteropServices;
using Cria.IO;
using Xunit;

namespace Cria.Tests.IO;

public unsafe class HugePagesTests
{
    private const long Mib = 1 << 20;

    [Fact]
    public void Advised_memory_is_backed_by_huge_pages_where_the_kernel_allows_them()
    {
        long bytes = 16 * Mib;
        using var buffer = new NativeBuffer(bytes / sizeof(float), clear: false, ownPages: false, hugePages: true);
        byte* p = (byte*)buffer.Pointer;
        for (long i = 0; i < bytes; i += 4096) p[i] = (byte)i; // the first touch, after the advice
        long huge = AnonHugePagesKib((nint)p, bytes);
        // Switched off, under THP "never" or off Linux the hint does nothing; where THP may be used (this project's
        // machines: "madvise"), the whole 2 MiB pages after the first boundary must be huge.
        if (!HugePages.Enabled || ThpMode() == "never") return;
        Assert.True(huge >= 14 * 1024, $"AnonHugePages {huge} kB for a 16 MiB buffer (THP mode {ThpMode()})");
        for (long i = 0; i < bytes; i += 4096) Assert.Equal((byte)i, p[i]);
    }

    [Theory]
    [InlineData(0L, 0L)]
    [InlineData(1L, 100L)]
    [InlineData(4095L, 2 * Mib)]       // no whole 2 MiB page inside
    [InlineData(17L, 5 * Mib + 3)]     // unaligned both ends
    public void Ranges_without_a_whole_huge_page_or_unaligned_are_accepted(long shift, long bytes)
    {
        byte* p = (byte*)NativeMemory.AlignedAlloc((nuint)(8 * Mib), 64);
        try
        {
            HugePages.Advise(p + shift, bytes);
            for (long i = 0; i < bytes; i++) p[shift + i] = (byte)(i * 7); // still ordinary, writable memory
            for (long i = 0; i < bytes; i += 4093) Assert.Equal((byte)(i * 7), p[shift + i]);
        }
        finally { NativeMemory.AlignedFree(p); }
    }

    private static string ThpMode()
    {
        const string path = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!File.Exists(path)) return "never";
        var text = File.ReadAllText(path);
        int open = text.IndexOf('['), close = text.IndexOf(']');
        return open >= 0 && close > open ? text[(open + 1)..close] : "never";
    }

    /// <summary>The AnonHugePages of the /proc/self/smaps mappings that overlap [<paramref name="address"/>, +
    /// <paramref name="bytes"/>): the advice splits the buffer's mapping at the 2 MiB boundaries.</summary>
    private static long AnonHugePagesKib(nint address, long bytes)
    {
        if (!OperatingSystem.IsLinux()) return 0;
        bool inside = false;
        long total = 0;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            if (dash > 0 && line.IndexOf(' ') > dash && IsHex(line.AsSpan(0, dash)))
            {
                var range = line[..line.IndexOf(' ')].Split('-');
                long start = long.Parse(range[0], NumberStyles.HexNumber), end = long.Parse(range[1], NumberStyles.HexNumber);
                inside = start < address + bytes && address < end;
            }
            else if (inside && line.StartsWith("AnonHugePages:"))
                total += long.Parse(line["AnonHugePages:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        return total;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (!char.IsAsciiHexDigit(c)) return false;
        return s.Length > 0;
    }
}

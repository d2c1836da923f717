namespace Cria.Benchmarking;

/// <summary>Memory figures of this process: peak resident set (Linux VmHWM, else the runtime's peak working set) and
/// the process's own (anonymous) resident memory.</summary>
public static class ProcessMemory
{
    public static long PeakResidentBytes() => Status("VmHWM:") ?? System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64;

    /// <summary>Resident memory the process allocated itself (heap, buffers), not counting pages of mapped files, which
    /// the kernel can drop at will (Linux RssAnon; elsewhere the private bytes).</summary>
    public static long AnonymousResidentBytes() => Status("RssAnon:") ?? System.Diagnostics.Process.GetCurrentProcess().PrivateMemorySize64;

    // A "Name:   1234 kB" line of /proc/self/status, in bytes.
    private static long? Status(string name)
    {
        if (!File.Exists("/proc/self/status")) return null;
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(name, StringComparison.Ordinal) && long.TryParse(line[name.Length..].Trim().Split(' ')[0], out long kb)) return kb * 1024;
        return null;
    }
}

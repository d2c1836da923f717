namespace Cria.Benchmarking;

/// <summary>Memory figures of this process: peak resident set (Linux VmHWM, else the runtime's peak working set).</summary>
public static class ProcessMemory
{
    public static long PeakResidentBytes()
    {
        if (File.Exists("/proc/self/status"))
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal) && long.TryParse(line[6..].Trim().Split(' ')[0], out long kb)) return kb * 1024;
        }
        return System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64;
    }
}

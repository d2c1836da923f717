namespace Cria.Tests.Infrastructure;

/// <summary>Finds the shared test data: <c>$CRIA_ASSETS</c> if set, else <c>../shared/assets</c> beside the repository.</summary>
public static class TestAssets
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    /// <summary>The absolute path of <paramref name="relative"/> under the assets folder; fails clearly if it is missing.</summary>
    public static string Path(string relative)
    {
        string full = System.IO.Path.Combine(Root, relative);
        if (!File.Exists(full) && !Directory.Exists(full))
            throw new FileNotFoundException($"test asset '{relative}' not found under {Root} (set CRIA_ASSETS to the assets folder)", full);
        return full;
    }

    /// <summary>The repository root (the folder holding Cria.slnx).</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "Cria.slnx"))) return dir.FullName;
            throw new DirectoryNotFoundException("cannot find the repository root (Cria.slnx) above " + AppContext.BaseDirectory);
        }
    }

    private static string FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable("CRIA_ASSETS");
        if (!string.IsNullOrEmpty(env))
        {
            if (!Directory.Exists(env)) throw new DirectoryNotFoundException($"CRIA_ASSETS='{env}' is not a folder");
            return System.IO.Path.GetFullPath(env);
        }
        string candidate = System.IO.Path.GetFullPath(System.IO.Path.Combine(RepoRoot, "..", "shared", "assets"));
        if (!Directory.Exists(candidate))
            throw new DirectoryNotFoundException($"test assets not found at {candidate}; set CRIA_ASSETS to the shared assets folder");
        return candidate;
    }
}

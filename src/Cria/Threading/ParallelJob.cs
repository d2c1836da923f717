namespace Cria.Threading;

/// <summary>Work split into items [0, count): a reusable object whose fields the caller sets before each run,
/// so dispatching allocates nothing.</summary>
public abstract class ParallelJob
{
    /// <summary>Processes items [<paramref name="start"/>, <paramref name="end"/>) on worker <paramref name="worker"/>
    /// (0 = the calling thread); a worker index lets a job use per-thread scratch buffers.</summary>
    public abstract void Execute(int start, int end, int worker);
}

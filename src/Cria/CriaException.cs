namespace Cria;

/// <summary>A problem with the user's input (a model file, a tokenizer, an option) that Cria can name precisely.</summary>
public class CriaException : Exception
{
    public CriaException(string message) : base(message) { }
    public CriaException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A model or tokenizer file whose content is malformed, truncated or unsupported.</summary>
public sealed class ModelFormatException : CriaException
{
    public ModelFormatException(string message) : base(message) { }
    public ModelFormatException(string message, Exception inner) : base(message, inner) { }
}

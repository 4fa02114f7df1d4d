// Lets this assembly call ML.NET internals at run time (the compiler sees publicized references, see
// build/MlNetInternals.targets). The runtime honours this attribute by name; it is not in the BCL's public surface.
namespace System.Runtime.CompilerServices
{
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
    {
        public string AssemblyName { get; } = assemblyName;
    }
}

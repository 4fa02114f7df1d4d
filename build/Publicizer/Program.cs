// Usage: Publicizer OUTPUT_DIR INPUT.dll [INPUT.dll ...]
// Writes OUTPUT_DIR/<name>.dll with all types, methods and fields public (compiler-generated ones left alone).
// The publicized copies are compile-time references only; at run time the real assemblies load, and
// [IgnoresAccessChecksTo] lets the runtime accept the calls.
using Mono.Cecil;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Publicizer OUTPUT_DIR INPUT.dll [INPUT.dll ...]");
    return 2;
}
string outDir = args[0];
Directory.CreateDirectory(outDir);
foreach (string input in args.Skip(1))
{
    var resolver = new DefaultAssemblyResolver();
    resolver.AddSearchDirectory(Path.GetDirectoryName(input)!);
    using var asm = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver, InMemory = true });
    foreach (var type in asm.MainModule.GetTypes())
        Publicize(type);
    string output = Path.Combine(outDir, Path.GetFileName(input));
    asm.Write(output);
    Console.WriteLine($"publicized {Path.GetFileName(input)} -> {output}");
}
return 0;

static void Publicize(TypeDefinition type)
{
    if (IsCompilerGenerated(type.Name)) return;
    if (type.IsNested)
        type.IsNestedPublic = true;
    else
        type.IsPublic = true;
    var eventNames = type.Events.Select(e => e.Name).ToHashSet();
    foreach (var m in type.Methods)
        if (!IsCompilerGenerated(m.Name) && !m.IsPublic)
            m.IsPublic = true;
    foreach (var f in type.Fields)
        if (!IsCompilerGenerated(f.Name) && !eventNames.Contains(f.Name) && !f.IsPublic)
            f.IsPublic = true;
}

static bool IsCompilerGenerated(string name) => name.Contains('<') || name.Contains('>');

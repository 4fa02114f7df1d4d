// One ELF reader, two users: MlNetLlm.Modeling compiles it (TorchRuntime explains why libLibTorchSharp.so did not
// load), and MlNetLlm.Modeling.targets compiles it as an inline MSBuild task (RoslynCodeTaskFactory, Type="Class")
// that marks GLIBCXX_3.4.32 weak in the build and publish output. The task compiles against netstandard2.0: no
// records, no init accessors, no file-scoped namespace.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace MlNetLlm.Modeling.Runtime
{
    /// <summary>One symbol-version requirement from an ELF file's .gnu.version_r section.</summary>
    internal sealed class ElfVersionNeed
    {
        public ElfVersionNeed(string library, string version, bool weak, int flagsOffset) =>
            (Library, Version, Weak, FlagsOffset) = (library, version, weak, flagsOffset);

        public string Library { get; }
        public string Version { get; }
        public bool Weak { get; }
        /// <summary>Where the requirement's vna_flags sit in the file (two bytes, little-endian).</summary>
        public int FlagsOffset { get; }
    }

    /// <summary>Reads and edits the version requirements (SHT_GNU_verneed) of an ELF64 little-endian shared library.</summary>
    internal static class ElfVersionNeeds
    {
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlgWeak = 2;

        public static IReadOnlyList<ElfVersionNeed> Read(string path) => Read(File.ReadAllBytes(path), path);

        public static bool IsElf64LittleEndian(byte[] b) =>
            b.Length >= 64 && b[0] == 0x7f && b[1] == (byte)'E' && b[2] == (byte)'L' && b[3] == (byte)'F' && b[4] == 2 && b[5] == 1;

        public static List<ElfVersionNeed> Read(byte[] b, string path)
        {
            if (!IsElf64LittleEndian(b)) throw new InvalidDataException($"'{path}' is not a little-endian ELF64 file.");
            long shoff = BitConverter.ToInt64(b, 0x28);
            int shentsize = BitConverter.ToUInt16(b, 0x3A);
            int shnum = BitConverter.ToUInt16(b, 0x3C);
            var result = new List<ElfVersionNeed>();
            for (int s = 0; s < shnum; s++)
            {
                int sh = checked((int)(shoff + (long)s * shentsize));
                if (BitConverter.ToUInt32(b, sh + 4) != ShtGnuVerneed) continue;
                int need = checked((int)BitConverter.ToInt64(b, sh + 0x18));
                int link = (int)BitConverter.ToUInt32(b, sh + 0x28);
                int count = (int)BitConverter.ToUInt32(b, sh + 0x2C);
                int strtab = checked((int)BitConverter.ToInt64(b, checked((int)(shoff + (long)link * shentsize)) + 0x18));
                for (int n = 0; n < count; n++)
                {
                    string library = CString(b, strtab + (int)BitConverter.ToUInt32(b, need + 4));
                    int auxCount = BitConverter.ToUInt16(b, need + 2);
                    int aux = need + (int)BitConverter.ToUInt32(b, need + 8);
                    for (int a = 0; a < auxCount; a++)
                    {
                        ushort flags = BitConverter.ToUInt16(b, aux + 4);
                        result.Add(new ElfVersionNeed(library, CString(b, strtab + (int)BitConverter.ToUInt32(b, aux + 8)), (flags & VerFlgWeak) != 0, aux + 4));
                        uint next = BitConverter.ToUInt32(b, aux + 12);
                        if (next == 0) break;
                        aux += (int)next;
                    }
                    uint nextNeed = BitConverter.ToUInt32(b, need + 12);
                    if (nextNeed == 0) break;
                    need += (int)nextNeed;
                }
            }
            return result;
        }

        /// <summary>Sets VER_FLG_WEAK on every requirement of <paramref name="version"/> in <paramref name="b"/>;
        /// returns how many it found and how many it changed.</summary>
        public static (int Found, int Changed) MarkWeak(byte[] b, string path, string version)
        {
            int found = 0, changed = 0;
            foreach (var need in Read(b, path))
            {
                if (need.Version != version) continue;
                found++;
                if (need.Weak) continue;
                b[need.FlagsOffset] |= (byte)VerFlgWeak; // the flag sits in the low byte
                changed++;
            }
            return (found, changed);
        }

        private static string CString(byte[] b, int start)
        {
            int end = start;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, start, end - start);
        }
    }

#if !MLNETLLM_MODELING
    /// <summary>The build task: patches copies in the output or publish folder, never the NuGet cache.</summary>
    public sealed class MarkElfVersionWeak : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();
        [Microsoft.Build.Framework.Required] public string VersionName { get; set; } = "";

        public override bool Execute()
        {
            foreach (var item in Files)
            {
                string path = item.ItemSpec;
                if (!File.Exists(path)) continue;
                byte[] b = File.ReadAllBytes(path);
                if (!ElfVersionNeeds.IsElf64LittleEndian(b))
                {
                    Log.LogWarning("MarkElfVersionWeak: {0} is not a little-endian ELF64 file; left unchanged.", path);
                    continue;
                }
                var (found, changed) = ElfVersionNeeds.MarkWeak(b, path, VersionName);
                if (changed > 0)
                {
                    // Delete then write: breaks any hard link, so a linked NuGet cache file is never modified.
                    string tmp = path + ".patching";
                    File.WriteAllBytes(tmp, b);
                    File.Delete(path);
                    File.Move(tmp, path);
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "MarkElfVersionWeak: marked {0} weak in {1}", VersionName, path);
                }
                else if (found == 0)
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "MarkElfVersionWeak: {0} does not require {1}", path, VersionName);
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}

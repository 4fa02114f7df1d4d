namespace MlNetLlm.Modeling.Runtime;

/// <summary>One symbol-version requirement from an ELF file's .gnu.version_r section.</summary>
internal sealed record ElfVersionNeed(string Library, string Version, bool Weak);

/// <summary>
/// Reads the version requirements (SHT_GNU_verneed) of an ELF64 little-endian shared library: used to explain why
/// libLibTorchSharp.so does not load (the build-time patch lives in build/TorchNatives.targets).
/// </summary>
internal static class ElfVersionNeeds
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 2;

    public static IReadOnlyList<ElfVersionNeed> Read(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
            throw new InvalidDataException($"'{path}' is not a little-endian ELF64 file.");
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        var result = new List<ElfVersionNeed>();
        for (int s = 0; s < shnum; s++)
        {
            int sh = checked((int)(shoff + (long)s * shentsize));
            if (BitConverter.ToUInt32(b, sh + 4) != ShtGnuVerneed) continue;
            int off = checked((int)BitConverter.ToInt64(b, sh + 0x18));
            int link = (int)BitConverter.ToUInt32(b, sh + 0x28);
            int count = (int)BitConverter.ToUInt32(b, sh + 0x2C);
            int strtab = checked((int)BitConverter.ToInt64(b, checked((int)(shoff + (long)link * shentsize)) + 0x18));
            int need = off;
            for (int n = 0; n < count; n++)
            {
                string library = CString(b, strtab + (int)BitConverter.ToUInt32(b, need + 4));
                int auxCount = BitConverter.ToUInt16(b, need + 2);
                int aux = need + (int)BitConverter.ToUInt32(b, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    ushort flags = BitConverter.ToUInt16(b, aux + 4);
                    result.Add(new ElfVersionNeed(library, CString(b, strtab + (int)BitConverter.ToUInt32(b, aux + 8)), (flags & VerFlgWeak) != 0));
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

    private static string CString(byte[] b, int start)
    {
        int end = start;
        while (end < b.Length && b[end] != 0) end++;
        return System.Text.Encoding.ASCII.GetString(b, start, end - start);
    }
}

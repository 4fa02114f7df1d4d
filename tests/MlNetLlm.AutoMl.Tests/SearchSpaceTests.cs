namespace MlNetLlm.AutoMl.Tests;

public class SearchSpaceTests
{
    private static void AssertSame(ParameterSet expected, ParameterSet actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (name, value) in expected)
        {
            if (value is double d)
            {
                double a = Assert.IsType<double>(actual[name]);
                Assert.True(Math.Abs(a - d) <= 1e-9 * Math.Max(1, Math.Abs(d)), $"{name}: {a} != {d}");
            }
            else Assert.Equal(value, actual[name]);
        }
    }

    public static TheoryData<string> DefaultSpaces => new() { "TransformerFineTune", "FromScratch", "Lstm", "SdcaMaximumEntropy", "LbfgsMaximumEntropy", "LightGbm" };

    private static SearchSpace Named(string name) => name switch
    {
        "TransformerFineTune" => SearchSpaces.TransformerFineTune(),
        "FromScratch" => SearchSpaces.FromScratch(),
        "Lstm" => SearchSpaces.Lstm(),
        "SdcaMaximumEntropy" => SearchSpaces.SdcaMaximumEntropy(),
        "LbfgsMaximumEntropy" => SearchSpaces.LbfgsMaximumEntropy(),
        "LightGbm" => SearchSpaces.LightGbm(),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(DefaultSpaces))]
    public void Default_spaces_round_trip_through_the_unit_cube_and_json(string name)
    {
        var space = Named(name);
        var rng = new Random(1);
        var points = new List<ParameterSet> { space.Defaults(), space.LowCost() };
        for (int i = 0; i < 200; i++) points.Add(space.Sample(rng));
        foreach (var p in points)
        {
            var u = space.ToUnit(p);
            Assert.Equal(space.Dimension, u.Length);
            Assert.All(u, x => Assert.InRange(x, 0.0, 1.0));
            AssertSame(p, space.FromUnit(u));
            AssertSame(p, ParameterSet.FromJson(p.ToJson()));
            Assert.Equal(p, ParameterSet.FromJson(p.ToJson()));
        }

        var copy = SearchSpace.FromJson(space.ToJson());
        Assert.Equal(space.ToJson(), copy.ToJson());
        AssertSame(space.Defaults(), copy.Defaults());
        AssertSame(space.LowCost(), copy.LowCost());
    }

    [Fact]
    public void Transformer_defaults_and_low_cost_point()
    {
        var space = SearchSpaces.TransformerFineTune();
        Assert.Equal(["LearningRate", "BatchSize", "Epochs", "WarmupRatio", "WeightDecay", "MaxLength"], space.Parameters.Select(p => p.Name));
        var lr = Assert.IsType<FloatParameter>(space["LearningRate"]);
        Assert.True(lr.Log);
        Assert.Equal((1e-5, 3e-4), (lr.Low, lr.High)); // narrowed to where fine-tuning small pretrained encoders works
        Assert.Equal(new object[] { 16, 32, 64 }, Assert.IsType<ChoiceParameter>(space["BatchSize"]).Values);

        var low = space.LowCost();
        Assert.Equal(1e-4, low.GetDouble("LearningRate")); // the 2026-12-07 grid: 3e-5 did not learn in one epoch
        Assert.Equal(1, low.GetInt("Epochs"));
        Assert.Equal(128, low.GetInt("MaxLength"));
        var defaults = space.Defaults();
        Assert.Equal(2, defaults.GetInt("Epochs"));
        Assert.Equal(32, defaults.GetInt("BatchSize"));
        Assert.Equal(128, defaults.GetInt("MaxLength"));

        Assert.Equal(1e-3, SearchSpaces.FromScratch().Defaults().GetDouble("LearningRate"));
        Assert.True(((FloatParameter)SearchSpaces.FromScratch()["LearningRate"]).High > lr.High); // wider for from-scratch
        var gbm = SearchSpaces.LightGbm();
        Assert.Equal(4, gbm.LowCost().GetInt("NumberOfLeaves"));
        Assert.Equal(10, gbm.LowCost().GetInt("NumberOfIterations"));
        Assert.Equal(31, gbm.Defaults().GetInt("NumberOfLeaves"));
    }

    [Fact]
    public void Log_float_is_uniform_in_log_space()
    {
        var p = new FloatParameter("lr", 1e-6, 1e-2, log: true);
        Assert.Equal(1e-4, (double)p.FromUnit(0.5), 12);
        Assert.Equal(0.5, p.ToUnit(1e-4), 12);
        Assert.Equal(0.25, p.ToUnit(1e-5), 12);
        Assert.Equal(1e-6, (double)p.FromUnit(0));
        Assert.Equal(1e-2, (double)p.FromUnit(1));
        Assert.Equal(1e-4, (double)p.Default, 12); // geometric mean

        // Samples: each decade gets about a quarter.
        var space = new SearchSpace(p);
        var rng = new Random(7);
        var counts = new int[4];
        for (int i = 0; i < 4000; i++)
        {
            double v = space.Sample(rng).GetDouble("lr");
            Assert.InRange(v, 1e-6, 1e-2);
            counts[Math.Min(3, (int)Math.Floor(Math.Log10(v) + 6))]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 850, 1150));

        var linear = new FloatParameter("w", 0, 0.3);
        Assert.Equal(0.15, (double)linear.FromUnit(0.5), 12);
        Assert.Equal(0.15, (double)linear.Default, 12);
        Assert.Equal(0.0, (double)linear.FromUnit(-3)); // clamped
        Assert.Equal(0.3, (double)linear.FromUnit(7));
    }

    [Fact]
    public void Int_parameters_round_trip_every_value_linear_and_log()
    {
        foreach (var p in new[] { new IntParameter("e", 1, 10), new IntParameter("n", 10, 500, log: true), new IntParameter("z", -3, 3), new IntParameter("one", 5, 5) })
        {
            int previous = int.MinValue;
            for (int v = p.Low; v <= p.High; v++)
            {
                double u = p.ToUnit(v);
                Assert.InRange(u, 0.0, 1.0);
                Assert.Equal(v, (int)p.FromUnit(u));
                Assert.True(v > previous);
                previous = v;
            }
            Assert.Equal(p.Low, (int)p.FromUnit(0));
            Assert.Equal(p.High, (int)p.FromUnit(1));
            // Monotone in u.
            int last = int.MinValue;
            for (double u = 0; u <= 1; u += 0.001)
            {
                int v = (int)p.FromUnit(u);
                Assert.True(v >= last);
                last = v;
            }
        }

        // Linear ints sample uniformly.
        var epochs = new SearchSpace(new IntParameter("e", 1, 10));
        var rng = new Random(3);
        var hist = new int[11];
        for (int i = 0; i < 5000; i++) hist[epochs.Sample(rng).GetInt("e")]++;
        Assert.All(hist.Skip(1), c => Assert.InRange(c, 400, 600));

        // Log ints favour small values: [10, 500] splits near sqrt(10·500) ≈ 71.
        var iters = new IntParameter("n", 10, 500, log: true);
        Assert.InRange((int)iters.FromUnit(0.5), 65, 75);
        Assert.Equal(71, (int)iters.Default);
    }

    [Fact]
    public void Choice_buckets_and_numeric_equality()
    {
        var p = new ChoiceParameter("bs", 8, 16, 32, 64, 128);
        Assert.Equal(0.1, p.ToUnit(8), 12);
        Assert.Equal(0.5, p.ToUnit(32), 12);
        Assert.Equal(0.5, p.ToUnit(32L), 12);
        Assert.Equal(0.5, p.ToUnit(32.0), 12);
        Assert.Equal(8, p.FromUnit(0));
        Assert.Equal(8, p.FromUnit(0.199));
        Assert.Equal(16, p.FromUnit(0.2));
        Assert.Equal(128, p.FromUnit(1));
        Assert.Equal(8, p.Default);
        Assert.Equal(32, p.Normalize(32.0)); // back to the declared int

        var s = new ChoiceParameter("opt", ["adamw", "sgd"], defaultValue: "sgd");
        Assert.Equal("sgd", s.Default);
        Assert.Equal("sgd", s.LowCost);
        var space = new SearchSpace(s, p);
        var rng = new Random(5);
        var seen = new HashSet<string>();
        for (int i = 0; i < 200; i++) seen.Add(space.Sample(rng).ToJson());
        Assert.Equal(10, seen.Count);
        Assert.Equal(10, space.Cardinality);
    }

    [Fact]
    public void Parameter_set_getters_and_json_types()
    {
        var p = new ParameterSet([new("lr", 1.0), new("bs", 16), new("opt", "adamw")]);
        Assert.Equal("""{"lr":1.0,"bs":16,"opt":"adamw"}""", p.ToJson());
        var back = ParameterSet.FromJson(p.ToJson());
        Assert.IsType<double>(back["lr"]);
        Assert.IsType<int>(back["bs"]);
        Assert.Equal(1.0, back.GetDouble("lr"));
        Assert.Equal(16, back.GetInt("bs"));
        Assert.Equal(16.0, back.GetDouble("bs"));
        Assert.Equal("adamw", back.GetString("opt"));
        Assert.Equal("16", back.GetString("bs"));
        Assert.Equal(1, back.GetInt("lr")); // integral double
        Assert.Equal(p, back);
        Assert.Equal(p.GetHashCode(), back.GetHashCode());
        Assert.Equal(p, new ParameterSet([new("opt", "adamw"), new("bs", 16.0), new("lr", 1)])); // order and 16 vs 16.0 do not matter
        Assert.NotEqual(p, p.With("bs", 32));
        Assert.Equal(32, p.With("bs", 32).GetInt("bs"));

        var e = Assert.Throws<InvalidCastException>(() => back.GetDouble("opt"));
        Assert.Contains("opt", e.Message);
        Assert.Throws<InvalidCastException>(() => p.With("lr", 1.5).GetInt("lr"));
        var k = Assert.Throws<KeyNotFoundException>(() => back.GetInt("batch"));
        Assert.Contains("'batch'", k.Message);
        Assert.Contains("bs", k.Message);
        Assert.Throws<ArgumentException>(() => new ParameterSet([new("x", double.NaN)]));
        Assert.Throws<ArgumentException>(() => new ParameterSet([new("x", 1), new("x", 2)]));
        Assert.Throws<FormatException>(() => ParameterSet.FromJson("[1,2]"));
        Assert.Throws<FormatException>(() => ParameterSet.FromJson("{not json"));
    }

    [Fact]
    public void Validate_converts_types_and_names_what_is_wrong()
    {
        var space = SearchSpaces.TransformerFineTune();
        var ok = space.Validate(new Dictionary<string, object>
        {
            ["MaxLength"] = 256L, ["LearningRate"] = 1e-4f, ["BatchSize"] = 16.0, ["Epochs"] = 4.0, ["WarmupRatio"] = 0, ["WeightDecay"] = 0.1,
        });
        Assert.Equal(space.Parameters.Select(p => p.Name), ok.Keys); // space order
        Assert.IsType<int>(ok["Epochs"]);
        Assert.IsType<int>(ok["BatchSize"]);
        Assert.IsType<double>(ok["WarmupRatio"]);

        var filled = space.Create(new Dictionary<string, object> { ["Epochs"] = 4 });
        Assert.Equal(4, filled.GetInt("Epochs"));
        Assert.Equal(1e-4, filled.GetDouble("LearningRate"));

        var unknown = Assert.Throws<ArgumentException>(() => space.Create(new Dictionary<string, object> { ["LearnRate"] = 1e-4 }));
        Assert.Contains("'LearnRate'", unknown.Message);
        Assert.Contains("LearningRate", unknown.Message);
        Assert.Contains("'LearnRate'", Assert.Throws<KeyNotFoundException>(() => space["LearnRate"]).Message);
        Assert.Contains("missing", Assert.Throws<ArgumentException>(() => space.Validate(new Dictionary<string, object> { ["Epochs"] = 5 })).Message);
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => space.Create(new Dictionary<string, object> { ["Epochs"] = 5 })).Message);
        Assert.Contains("integer", Assert.Throws<ArgumentException>(() => space.Create(new Dictionary<string, object> { ["Epochs"] = 2.5 })).Message);
        Assert.Contains("not one of", Assert.Throws<ArgumentException>(() => space.Create(new Dictionary<string, object> { ["BatchSize"] = 12 })).Message);
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => space.Create(new Dictionary<string, object> { ["LearningRate"] = 0.5 })).Message);
        Assert.Contains("expected a number", Assert.Throws<ArgumentException>(() => space.Create(new Dictionary<string, object> { ["LearningRate"] = "fast" })).Message);
        Assert.Throws<ArgumentException>(() => space.FromUnit([0.5]));
    }

    [Fact]
    public void Bad_parameter_definitions_are_rejected_with_clear_messages()
    {
        Assert.Contains("low (2) is greater than high (1)", Assert.Throws<ArgumentException>(() => new FloatParameter("x", 2, 1)).Message);
        Assert.Contains("low (5) is greater than high (3)", Assert.Throws<ArgumentException>(() => new IntParameter("n", 5, 3)).Message);
        Assert.Contains("low > 0", Assert.Throws<ArgumentException>(() => new FloatParameter("lr", 0, 1, log: true)).Message);
        Assert.Contains("low >= 1", Assert.Throws<ArgumentException>(() => new IntParameter("n", 0, 10, log: true)).Message);
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => new FloatParameter("x", 0, double.PositiveInfinity)).Message);
        Assert.Contains("at least one value", Assert.Throws<ArgumentException>(() => new ChoiceParameter("c", Array.Empty<object>())).Message);
        Assert.Contains("listed twice", Assert.Throws<ArgumentException>(() => new ChoiceParameter("c", 16, 16.0)).Message);
        Assert.Contains("default 2", Assert.Throws<ArgumentException>(() => new FloatParameter("x", 0, 1, defaultValue: 2)).Message);
        Assert.Contains("low-cost value 0", Assert.Throws<ArgumentException>(() => new IntParameter("n", 1, 3, lowCost: 0)).Message);
        Assert.Contains("not one of", Assert.Throws<ArgumentException>(() => new ChoiceParameter("c", ["a", "b"], defaultValue: "z")).Message);
        Assert.Contains("strings or finite numbers", Assert.Throws<ArgumentException>(() => new ChoiceParameter("c", new object[] { new object() })).Message);
        Assert.Throws<ArgumentException>(() => new FloatParameter(" ", 0, 1));
        Assert.Contains("already has", Assert.Throws<ArgumentException>(() => new SearchSpace().AddInt("e", 1, 2).AddInt("e", 1, 3)).Message);
        Assert.Throws<FormatException>(() => SearchSpace.FromJson("""{"parameters":[{"name":"x","type":"gaussian"}]}"""));
        Assert.Throws<FormatException>(() => SearchSpace.FromJson("{}"));
    }
}

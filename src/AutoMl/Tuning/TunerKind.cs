namespace MlNetLlm.AutoMl;

/// <summary>Which tuner proposes an experiment's trials.</summary>
public enum TunerKind
{
    /// <summary>Cost-frugal optimization (FLAML's CFO): starts at the cheap point, moves towards better and costlier ones.</summary>
    Cfo,
    /// <summary>Independent random draws from the search space.</summary>
    Random,
    /// <summary>Every point of a grid (numeric parameters at <c>ExperimentOptions.GridStepsPerDimension</c> values).</summary>
    Grid,
    /// <summary>Tree-structured Parzen estimator.</summary>
    Tpe,
}

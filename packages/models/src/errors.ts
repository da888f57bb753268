// The models' named errors: one class per condition, with a stable `name` callers can branch on. Local rather than
// @mosaic/protocol's namedError, so the package depends on nothing.

function namedError<T extends string>(name: T) {
  return class extends Error {
    static override name = name;
    override name = name;
  };
}

function namedRangeError<T extends string>(name: T) {
  return class extends RangeError {
    static override name = name;
    override name = name;
  };
}

/** A series (cases, deaths, or the rows a result selection kept) has no observations. */
export class EmptySeriesError extends namedError("EmptySeriesError") {}

/** An observation's day, value or sd is not a number the fit can use (NaN, ±Infinity, a negative sd, a fractional day). */
export class InvalidObservationError extends namedRangeError("InvalidObservationError") {}

/** A series' days are not strictly increasing: out of order, or the same day twice. */
export class UnsortedSeriesError extends namedError("UnsortedSeriesError") {}

/** A series holds the same day twice (its rows should have been summed first). */
export class DuplicateDayError extends namedError("DuplicateDayError") {}

/** The population is not a positive finite number. */
export class InvalidPopulationError extends namedRangeError("InvalidPopulationError") {}

/** The population is smaller than the people the series says fell ill (or died). */
export class PopulationTooSmallError extends namedRangeError("PopulationTooSmallError") {}

/** A model parameter or option is out of its range (the message names it and its value). */
export class InvalidParamsError extends namedRangeError("InvalidParamsError") {}

/** A job result cannot be read as a series: a confidence that is not a percentage, a non-finite row, an undated row. */
export class InvalidResultError extends namedError("InvalidResultError") {}

/** The optimiser found no parameters with a finite likelihood (the series is far from any epidemic curve). */
export class FitFailedError extends namedError("FitFailedError") {}

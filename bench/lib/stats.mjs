// Figures every bench reports.

/** The middle value (the upper one of the two middles for an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

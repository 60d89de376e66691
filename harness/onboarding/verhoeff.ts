/** The Verhoeff check digit (dihedral group D5) of the Matter manual pairing code (Matter Core spec 5.1.4.1). */

const D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

function digitAt(digits: string, i: number): number {
    const d = digits.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) throw new RangeError(`not a decimal digit at ${i}`); // callers pass digits only
    return d;
}

/** The check digit to append to `digits` (a string of 0-9). */
export function verhoeffCheckDigit(digits: string): number {
    let c = 0;
    for (let i = 0; i < digits.length; i++) c = D[c]![P[(i + 1) % 8]![digitAt(digits, digits.length - 1 - i)]!]!;
    return INV[c]!;
}

/** True when the last digit of `digitsWithCheck` is the Verhoeff check digit of the others. */
export function verhoeffValid(digitsWithCheck: string): boolean {
    let c = 0;
    for (let i = 0; i < digitsWithCheck.length; i++) {
        c = D[c]![P[i % 8]![digitAt(digitsWithCheck, digitsWithCheck.length - 1 - i)]!]!;
    }
    return c === 0;
}

/** CSV output the way Python's csv.writer writes it (QUOTE_MINIMAL, `\r\n` line ends), so files diff cleanly against mfg_tool's. */

export function csvField(value: string): string {
    return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One row without its line end; a row of one empty field is `""` as Python writes it. */
export function csvRow(fields: readonly string[]): string {
    if (fields.length === 1 && fields[0] === "") return '""';
    let line = "";
    for (let i = 0; i < fields.length; i++) line += (i ? "," : "") + csvField(fields[i]!);
    return line;
}

/** Rows joined by `\r\n` with a trailing `\r\n` (csv.writer). */
export function csvDocument(rows: ReadonlyArray<readonly string[]>, lineEnd = "\r\n"): string {
    let text = "";
    for (const r of rows) text += csvRow(r) + lineEnd;
    return text;
}

/** Parses RFC 4180 CSV text (Python csv.reader defaults: quoted fields may span lines); blank lines are skipped. */
export function parseCsv(text: string): string[][] {
    const rows: string[][] = [];
    let row: string[] = [];
    let field = "";
    let inQuotes = false;
    let sawAny = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if (inQuotes) {
            if (c === '"') {
                if (text[i + 1] === '"') {
                    field += '"';
                    i++;
                } else inQuotes = false;
            } else field += c;
            continue;
        }
        if (c === '"') {
            inQuotes = true;
            sawAny = true;
        } else if (c === ",") {
            row.push(field);
            field = "";
            sawAny = true;
        } else if (c === "\r" || c === "\n") {
            if (c === "\r" && text[i + 1] === "\n") i++;
            if (sawAny || field !== "") {
                row.push(field);
                rows.push(row);
            }
            row = [];
            field = "";
            sawAny = false;
        } else {
            field += c;
            sawAny = true;
        }
    }
    if (sawAny || field !== "") {
        row.push(field);
        rows.push(row);
    }
    return rows;
}

// A contributor's file of records, read in the browser: JSONL (one JSON object a line) or CSV (a
// header row naming the Datanet spec's fields), turned into payloads and checked against the spec
// before anything is sent, so a row the API would refuse is shown with its reason at once.

/**
 * RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks; CRLF or LF ends a
 * row; a byte-order mark before the header is dropped. Returns rows of strings.
 */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new Error('the CSV ends inside a quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  // A blank line is no record.
  return rows.filter((r) => r.length > 1 || r[0] !== '');
}

/** A CSV cell as the field's type: numbers and booleans are text in CSV; an empty cell is absent. */
function cellValue(field, cell) {
  if (cell === '') return undefined;
  if (field.type === 'number' || field.type === 'integer') {
    const n = Number(cell.trim());
    return cell.trim() === '' || Number.isNaN(n) ? cell : n;
  }
  if (field.type === 'boolean') {
    const b = cell.trim().toLowerCase();
    return b === 'true' || b === '1' ? true : b === 'false' || b === '0' ? false : cell;
  }
  if (field.type === 'messages') {
    try {
      return JSON.parse(cell);
    } catch {
      return cell;
    }
  }
  return cell;
}

/**
 * The rows of a file as { line, payload } or { line, errors }: `line` is the 1-based line (JSONL)
 * or data row (CSV, header excluded) so a refusal points at the row to fix.
 */
export function readRecords(name, text, spec) {
  if (/\.csv$/i.test(name)) {
    const [header, ...rows] = parseCsv(text);
    if (!header) throw new Error('the CSV is empty');
    const names = header.map((h) => h.trim());
    const byName = new Map(spec.fields.map((f) => [f.name, f]));
    const unknown = names.filter((n) => !byName.has(n));
    if (unknown.length)
      throw new Error(
        `the CSV header names columns the Datanet does not have: ${unknown.join(', ')} (its fields: ${spec.fields.map((f) => f.name).join(', ')})`,
      );
    return rows.map((cells, i) => {
      if (cells.length !== names.length)
        return { line: i + 1, errors: [`has ${cells.length} cells, the header has ${names.length}`] };
      const payload = {};
      names.forEach((n, j) => {
        const v = cellValue(byName.get(n), cells[j]);
        if (v !== undefined) payload[n] = v;
      });
      return { line: i + 1, payload };
    });
  }
  if (/\.jsonl$|\.ndjson$/i.test(name))
    return text
      .split(/\r?\n/)
      .map((l, i) => ({ l, line: i + 1 }))
      .filter(({ l }) => l.trim() !== '')
      .map(({ l, line }) => {
        try {
          const payload = JSON.parse(l);
          if (!payload || typeof payload !== 'object' || Array.isArray(payload))
            return { line, errors: ['is not a JSON object'] };
          return { line, payload };
        } catch (err) {
          return { line, errors: [`is not JSON: ${err.message}`] };
        }
      });
  throw new Error(`${name}: pick a .csv or .jsonl file`);
}

const enc = new TextEncoder();

/**
 * What the spec says of a payload, as the API would (domain/data/datanet-spec.ts): unknown or
 * missing fields, wrong types, lengths, bounds, enum values, a blank text and the record's size.
 * A chat transcript's turns are left to the API, whose reason is shown per row like these.
 */
export function checkRecord(spec, payload) {
  const errors = [];
  const byName = new Map(spec.fields.map((f) => [f.name, f]));
  for (const k of Object.keys(payload)) if (!byName.has(k)) errors.push(`${k}: not a field of this Datanet`);
  for (const f of spec.fields) {
    const v = payload[f.name];
    if (v === undefined || v === null) {
      // The text field is required whatever the spec says: a record is about its text.
      if (f.required || f.name === spec.textField) errors.push(`${f.name}: required`);
      continue;
    }
    if (f.type === 'string' || f.type === 'enum') {
      if (typeof v !== 'string') {
        errors.push(`${f.name}: must be text`);
        continue;
      }
      if (f.type === 'enum' && !f.values.includes(v)) errors.push(`${f.name}: must be one of ${f.values.join(', ')}`);
      if (f.name === spec.textField && v.trim() === '') errors.push(`${f.name}: must not be blank`);
      if (f.minLength !== undefined && v.length < f.minLength)
        errors.push(`${f.name}: shorter than ${f.minLength} characters`);
      if (f.maxLength !== undefined && v.length > f.maxLength)
        errors.push(`${f.name}: longer than ${f.maxLength} characters`);
    } else if (f.type === 'number' || f.type === 'integer') {
      if (typeof v !== 'number' || !Number.isFinite(v) || (f.type === 'integer' && !Number.isInteger(v)))
        errors.push(`${f.name}: must be ${f.type === 'integer' ? 'an integer' : 'a number'}`);
      else {
        if (f.min !== undefined && v < f.min) errors.push(`${f.name}: below ${f.min}`);
        if (f.max !== undefined && v > f.max) errors.push(`${f.name}: above ${f.max}`);
      }
    } else if (f.type === 'boolean' && typeof v !== 'boolean') errors.push(`${f.name}: must be true or false`);
    else if (f.type === 'messages' && !Array.isArray(v)) errors.push(`${f.name}: must be a list of messages`);
  }
  const max = spec.maxRecordBytes ?? 65_536;
  const size = enc.encode(JSON.stringify(payload)).length;
  if (size > max) errors.push(`record is about ${size} bytes; this Datanet accepts at most ${max}`);
  return errors;
}

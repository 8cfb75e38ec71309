//! `kevo import`: bulk-load JSON Lines, CSV or TSV into a database in write batches.
//!
//! Formats:
//! - **JSON Lines**: one JSON object per line. The key is the `--key-field` member (a string,
//!   written as its UTF-8 bytes, or a number, written as its JSON text); the value is the
//!   `--value-field` member: a string is written as its UTF-8 bytes, anything else (object,
//!   array, number, bool, null) as its compact JSON text. Blank lines are skipped.
//! - **CSV / TSV**: a header line, then one record per row. The key is `--key-column` (a
//!   header name or a 1-based column number; default the first column). The value is the
//!   `--value-column` field as is if given, else the whole row as a compact JSON object
//!   `{"header1":"field1",...}` in column order (every field a string). CSV follows RFC 4180
//!   quoting (a quoted field may hold commas, quotes and newlines); TSV has no quoting.
//!
//! - **escaped** (`--escaped` or `--format escaped`): one `key<TAB>value` record per line,
//!   each side in the escaped form that `kevo scan --escaped` prints (see [`crate::escape`]),
//!   so `kevo scan --escaped DB | kevo import --escaped DB2` copies every key and value byte
//!   for byte. Only a final `\n` ends a line (a `\r` before it is part of the value, as
//!   `\r` is escaped on output). Blank lines are skipped.
//!
//! FILE `-` (or no FILE) reads standard input; the format must then be given.
//!
//! A malformed record stops the import with `FILE:LINE: what`, after every record before it
//! has been written.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kevo::WriteBatch;
use serde_json::Value;

use crate::escape;
use crate::open::open_or_create;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON Lines: one JSON object per line.
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
    /// `key<TAB>value` lines in the escaped form `kevo scan --escaped` prints.
    Escaped,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Database directory (created with default options if it holds no database).
    db: PathBuf,
    /// The file to load; `-` or none: standard input (then --format or --escaped is needed).
    file: Option<PathBuf>,
    /// Input format [default: from the extension: .jsonl/.ndjson/.json, .csv, .tsv/.tab]
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Read `key<TAB>value` lines in the escaped form that `kevo scan --escaped` prints
    /// (same as --format escaped), so `kevo scan --escaped DB | kevo import --escaped DB2`
    /// copies DB byte for byte.
    #[arg(long, conflicts_with = "format")]
    escaped: bool,
    /// JSON Lines: the member holding the key.
    #[arg(long, default_value = "key")]
    key_field: String,
    /// JSON Lines: the member holding the value.
    #[arg(long, default_value = "value")]
    value_field: String,
    /// CSV/TSV: the key column, a header name or a 1-based number [default: the first column]
    #[arg(long)]
    key_column: Option<String>,
    /// CSV/TSV: the value column, a header name or a 1-based number [default: the whole row
    /// as a JSON object]
    #[arg(long)]
    value_column: Option<String>,
    /// Records per write batch.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
}

/// One record read from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The line it starts on (1-based).
    pub line: u64,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// Why the input stopped at `line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: u64,
    pub msg: String,
}

impl ParseError {
    fn new(line: u64, msg: impl Into<String>) -> Self {
        ParseError {
            line,
            msg: msg.into(),
        }
    }
}

/// A stream of records with its position in the input.
pub trait RecordSource {
    /// The next record, `None` at the end of the input.
    fn next_record(&mut self) -> Result<Option<Record>, ParseError>;
    /// Bytes of input consumed so far.
    fn bytes_read(&self) -> u64;
}

/// The format named by `path`'s extension.
pub fn format_from_path(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
        "csv" => Some(Format::Csv),
        "tsv" | "tab" => Some(Format::Tsv),
        _ => None,
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// JSON Lines records.
pub struct JsonlSource<R> {
    input: R,
    key_field: String,
    value_field: String,
    line: u64,
    bytes: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> JsonlSource<R> {
    pub fn new(input: R, key_field: &str, value_field: &str) -> Self {
        JsonlSource {
            input,
            key_field: key_field.to_owned(),
            value_field: value_field.to_owned(),
            line: 0,
            bytes: 0,
            buf: Vec::new(),
        }
    }

    fn parse_line(&self, text: &[u8]) -> Result<Record, String> {
        let v: Value = serde_json::from_slice(text).map_err(|e| {
            let full = e.to_string();
            // serde_json appends " at line L column C"; within one line only the column says
            // something.
            let what = full
                .rsplit_once(" at line ")
                .map_or(full.as_str(), |(w, _)| w);
            format!("invalid JSON at column {}: {what}", e.column())
        })?;
        let Value::Object(obj) = v else {
            return Err(format!("expected a JSON object, found {}", json_kind(&v)));
        };
        let key = match obj.get(&self.key_field) {
            None => return Err(format!("missing key field \"{}\"", self.key_field)),
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            Some(Value::Number(n)) => n.to_string().into_bytes(),
            Some(other) => {
                return Err(format!(
                    "key field \"{}\" must be a string or a number, found {}",
                    self.key_field,
                    json_kind(other)
                ))
            }
        };
        let value = match obj.get(&self.value_field) {
            None => return Err(format!("missing value field \"{}\"", self.value_field)),
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            Some(other) => serde_json::to_vec(other).map_err(|e| e.to_string())?,
        };
        Ok(Record {
            line: self.line,
            key,
            value,
        })
    }
}

impl<R: BufRead> RecordSource for JsonlSource<R> {
    fn next_record(&mut self) -> Result<Option<Record>, ParseError> {
        loop {
            self.buf.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| ParseError::new(self.line + 1, format!("read error: {e}")))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.bytes += n as u64;
            let text = self.buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            return self
                .parse_line(text)
                .map(Some)
                .map_err(|msg| ParseError::new(self.line, msg));
        }
    }

    fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

/// CSV or TSV records.
pub struct CsvSource<R> {
    reader: csv::Reader<R>,
    headers: Vec<String>,
    key_col: usize,
    value_col: Option<usize>,
    record: csv::StringRecord,
}

/// Index of `spec` (a header name, else a 1-based column number) in `headers`.
fn column_index(headers: &[String], spec: &str, what: &str) -> Result<usize, String> {
    if let Some(i) = headers.iter().position(|h| h == spec) {
        return Ok(i);
    }
    match spec.parse::<usize>() {
        Ok(n) if (1..=headers.len()).contains(&n) => Ok(n - 1),
        Ok(n) => Err(format!(
            "{what} {n} is out of range: the header has {} columns",
            headers.len()
        )),
        Err(_) => Err(format!("{what} \"{spec}\" is not in the header")),
    }
}

fn csv_error(e: &csv::Error) -> ParseError {
    let line = e.position().map_or(0, |p| p.line());
    let msg = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields like the header, found {len}"),
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not valid UTF-8", err.field() + 1)
        }
        csv::ErrorKind::Io(e) => format!("read error: {e}"),
        _ => e.to_string(),
    };
    ParseError::new(line, msg)
}

impl<R: Read> CsvSource<R> {
    /// Reads the header. Errors name line 1.
    pub fn new(
        input: R,
        delimiter: u8,
        key_column: Option<&str>,
        value_column: Option<&str>,
    ) -> Result<Self, ParseError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .quoting(delimiter != b'\t')
            .has_headers(true)
            .flexible(false)
            .from_reader(input);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| {
                let mut pe = csv_error(&e);
                pe.line = pe.line.max(1);
                pe
            })?
            .iter()
            .map(str::to_owned)
            .collect();
        if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
            return Err(ParseError::new(1, "missing header line"));
        }
        let key_col = match key_column {
            Some(spec) => {
                column_index(&headers, spec, "key column").map_err(|m| ParseError::new(1, m))?
            }
            None => 0,
        };
        let value_col = value_column
            .map(|spec| column_index(&headers, spec, "value column"))
            .transpose()
            .map_err(|m| ParseError::new(1, m))?;
        Ok(CsvSource {
            reader,
            headers,
            key_col,
            value_col,
            record: csv::StringRecord::new(),
        })
    }
}

impl<R: Read> RecordSource for CsvSource<R> {
    fn next_record(&mut self) -> Result<Option<Record>, ParseError> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            Err(e) => Err(csv_error(&e)),
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line());
                let key = self.record[self.key_col].as_bytes().to_vec();
                let value = match self.value_col {
                    Some(i) => self.record[i].as_bytes().to_vec(),
                    None => {
                        let obj: serde_json::Map<String, Value> = self
                            .headers
                            .iter()
                            .zip(self.record.iter())
                            .map(|(h, f)| (h.clone(), Value::String(f.to_owned())))
                            .collect();
                        serde_json::to_vec(&obj)
                            .map_err(|e| ParseError::new(line, e.to_string()))?
                    }
                };
                Ok(Some(Record { line, key, value }))
            }
        }
    }

    fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }
}

/// `key<TAB>value` lines in the escaped form (see [`crate::escape`]).
pub struct EscapedSource<R> {
    input: R,
    line: u64,
    bytes: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> EscapedSource<R> {
    /// Reads `input` from its start (line 1).
    pub fn new(input: R) -> Self {
        EscapedSource {
            input,
            line: 0,
            bytes: 0,
            buf: Vec::new(),
        }
    }

    fn parse_line(text: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let text = std::str::from_utf8(text)
            .map_err(|e| format!("not valid UTF-8 at byte {}", e.valid_up_to() + 1))?;
        let mut fields = text.split('\t');
        let (Some(key), Some(value), None) = (fields.next(), fields.next(), fields.next()) else {
            let n = text.split('\t').count();
            return Err(format!(
                "expected key<TAB>value, found {n} tab-separated fields"
            ));
        };
        let key = escape::parse(key).map_err(|e| format!("key: {e}"))?;
        let value = escape::parse(value).map_err(|e| format!("value: {e}"))?;
        Ok((key, value))
    }
}

impl<R: BufRead> RecordSource for EscapedSource<R> {
    fn next_record(&mut self) -> Result<Option<Record>, ParseError> {
        loop {
            self.buf.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| ParseError::new(self.line + 1, format!("read error: {e}")))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.bytes += n as u64;
            let text = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
            if text.is_empty() {
                continue;
            }
            let (key, value) =
                Self::parse_line(text).map_err(|msg| ParseError::new(self.line, msg))?;
            return Ok(Some(Record {
                line: self.line,
                key,
                value,
            }));
        }
    }

    fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

/// The source for `args`, reading `file`.
fn open_source(
    args: &ImportArgs,
    name: &str,
    format: Format,
    input: Box<dyn Read>,
) -> Result<Box<dyn RecordSource>> {
    let columns = args.key_column.is_some() || args.value_column.is_some();
    match format {
        Format::Jsonl | Format::Escaped if columns => {
            bail!("--key-column and --value-column apply to CSV/TSV; use --key-field and --value-field for JSON Lines");
        }
        Format::Escaped => Ok(Box::new(EscapedSource::new(BufReader::with_capacity(
            1 << 16,
            input,
        )))),
        Format::Jsonl => Ok(Box::new(JsonlSource::new(
            BufReader::with_capacity(1 << 16, input),
            &args.key_field,
            &args.value_field,
        ))),
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            let src = CsvSource::new(
                input,
                delimiter,
                args.key_column.as_deref(),
                args.value_column.as_deref(),
            )
            .map_err(|e| anyhow!("{name}:{}: {}", e.line, e.msg))?;
            Ok(Box::new(src))
        }
    }
}

pub fn run(args: &ImportArgs) -> Result<ExitCode> {
    let path = args.file.as_deref().filter(|f| *f != Path::new("-"));
    let name = path.map_or_else(|| "<stdin>".to_owned(), |f| f.display().to_string());
    let given = if args.escaped {
        Some(Format::Escaped)
    } else {
        args.format
    };
    let format = match given.or_else(|| path.and_then(format_from_path)) {
        Some(f) => f,
        None if path.is_none() => {
            bail!("standard input has no extension to tell its format; pass --format jsonl|csv|tsv|escaped or --escaped")
        }
        None => bail!(
            "cannot tell the format of {name} from its extension; pass --format jsonl|csv|tsv|escaped"
        ),
    };
    let (input, total): (Box<dyn Read>, u64) = match path {
        None => (Box::new(std::io::stdin().lock()), 0),
        Some(path) => {
            let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
            let meta = file
                .metadata()
                .with_context(|| format!("cannot read {name}"))?;
            if meta.is_dir() {
                bail!("{name} is a directory, not a file to import");
            }
            (Box::new(file), meta.len())
        }
    };
    let mut src = open_source(args, &name, format, input)?;
    let db = open_or_create(&args.db)?;

    let pb = if path.is_some() {
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{spinner} importing [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, eta {eta})",
            )
            .expect("valid template"),
        )
    } else {
        ProgressBar::no_length().with_style(
            ProgressStyle::with_template(
                "{spinner} importing [{elapsed_precise}] {binary_bytes} ({binary_bytes_per_sec})",
            )
            .expect("valid template"),
        )
    };
    let started = Instant::now();
    let mut batch = WriteBatch::new();
    let mut imported = 0u64;
    let mut batch_last_line = 0;
    // Read until the end or the first bad record; every good record before it is written.
    let stopped: Option<ParseError> = loop {
        let rec = match src.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        if let Err(e) = batch.put(&rec.key, &rec.value) {
            break Some(ParseError::new(rec.line, e.to_string()));
        }
        batch_last_line = rec.line;
        if batch.count() >= args.batch {
            db.write(&batch)
                .with_context(|| format!("writing the records up to {name}:{batch_last_line}"))?;
            imported += u64::from(batch.count());
            batch.clear();
            pb.set_position(src.bytes_read());
        }
    };
    if !batch.is_empty() {
        db.write(&batch)
            .with_context(|| format!("writing the records up to {name}:{batch_last_line}"))?;
        imported += u64::from(batch.count());
    }
    pb.finish_and_clear();
    // One SSTable for what is still in the memtable: later opens need not replay the log.
    db.flush().context("flushing the database")?;
    db.close().context("closing the database")?;

    let secs = started.elapsed().as_secs_f64();
    println!(
        "imported {imported} records from {name} into {} in {secs:.2} s ({:.0} records/s)",
        args.db.display(),
        imported as f64 / secs.max(1e-9)
    );
    match stopped {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => Err(anyhow!("{name}:{}: {}", e.line, e.msg)),
    }
}

/// Reads every record of `src` (for tests).
#[cfg(test)]
fn read_all(src: &mut dyn RecordSource) -> (Vec<Record>, Option<ParseError>) {
    let mut out = Vec::new();
    loop {
        match src.next_record() {
            Ok(Some(r)) => out.push(r),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn jsonl(text: &str) -> (Vec<Record>, Option<ParseError>) {
        let mut src = JsonlSource::new(Cursor::new(text.as_bytes().to_vec()), "key", "value");
        read_all(&mut src)
    }

    fn csv_src(
        text: impl AsRef<[u8]>,
        delim: u8,
        key: Option<&str>,
        value: Option<&str>,
    ) -> CsvSource<Cursor<Vec<u8>>> {
        CsvSource::new(Cursor::new(text.as_ref().to_vec()), delim, key, value).unwrap()
    }

    fn rec(line: u64, key: &str, value: &str) -> Record {
        Record {
            line,
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn jsonl_good_lines() {
        let (recs, err) = jsonl(
            "{\"key\":\"a\",\"value\":\"hello\"}\n\
             \n\
             {\"value\": {\"z\": 1, \"a\": [true, null, 2.5]}, \"key\": \"b/é\"}\r\n\
             {\"key\":42,\"value\":17}\n\
             {\"key\":\"n\",\"value\":null}",
        );
        assert_eq!(err, None);
        assert_eq!(
            recs,
            vec![
                rec(1, "a", "hello"),
                rec(3, "b/é", r#"{"z":1,"a":[true,null,2.5]}"#),
                rec(4, "42", "17"),
                rec(5, "n", "null"),
            ]
        );
    }

    #[test]
    fn jsonl_custom_fields_and_byte_count() {
        let text = "{\"id\":\"k1\",\"doc\":{\"x\":1}}\n{\"id\":\"k2\",\"doc\":\"v\"}\n";
        let mut src = JsonlSource::new(Cursor::new(text.as_bytes().to_vec()), "id", "doc");
        let (recs, err) = read_all(&mut src);
        assert_eq!(err, None);
        assert_eq!(recs, vec![rec(1, "k1", r#"{"x":1}"#), rec(2, "k2", "v")]);
        assert_eq!(src.bytes_read(), text.len() as u64);
    }

    #[test]
    fn jsonl_malformed_json_names_its_line() {
        let (recs, err) = jsonl(
            "{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"2\"}\n{\"key\":\"c\",\"value\":\n{\"key\":\"d\",\"value\":\"4\"}\n",
        );
        assert_eq!(recs.len(), 2);
        let err = err.unwrap();
        assert_eq!(err.line, 3);
        assert!(err.msg.starts_with("invalid JSON at column"), "{}", err.msg);
        assert!(!err.msg.contains("at line"), "{}", err.msg);
    }

    #[test]
    fn jsonl_missing_or_bad_fields() {
        let (recs, err) = jsonl("{\"key\":\"a\",\"value\":\"1\"}\n{\"value\":\"2\"}\n");
        assert_eq!(recs.len(), 1);
        assert_eq!(err, Some(ParseError::new(2, "missing key field \"key\"")));

        let (_, err) = jsonl("{\"key\":\"a\"}\n");
        assert_eq!(
            err,
            Some(ParseError::new(1, "missing value field \"value\""))
        );

        let (_, err) = jsonl("{\"key\":[1],\"value\":\"x\"}\n");
        assert_eq!(
            err,
            Some(ParseError::new(
                1,
                "key field \"key\" must be a string or a number, found an array"
            ))
        );

        let (_, err) = jsonl("\n\n[1,2]\n");
        assert_eq!(
            err,
            Some(ParseError::new(3, "expected a JSON object, found an array"))
        );
    }

    #[test]
    fn jsonl_invalid_utf8_is_an_error_not_a_panic() {
        let mut src = JsonlSource::new(
            Cursor::new(b"{\"key\":\"a\xff\",\"value\":\"1\"}\n".to_vec()),
            "key",
            "value",
        );
        let (recs, err) = read_all(&mut src);
        assert!(recs.is_empty());
        let err = err.unwrap();
        assert_eq!(err.line, 1);
        assert!(err.msg.starts_with("invalid JSON"), "{}", err.msg);
    }

    #[test]
    fn csv_rows_become_json_objects_in_column_order() {
        let mut src = csv_src(
            "id,name,pop\n1,Paris,2138551\n2,\"Washington, D.C.\",\"6\"\"7\"\n",
            b',',
            None,
            None,
        );
        let (recs, err) = read_all(&mut src);
        assert_eq!(err, None);
        assert_eq!(
            recs,
            vec![
                rec(2, "1", r#"{"id":"1","name":"Paris","pop":"2138551"}"#),
                rec(
                    3,
                    "2",
                    r#"{"id":"2","name":"Washington, D.C.","pop":"6\"7"}"#
                ),
            ]
        );
    }

    #[test]
    fn csv_key_and_value_columns_by_name_or_number() {
        let text = "id,name,pop\n1,Paris,2138551\n";
        let (recs, _) = read_all(&mut csv_src(text, b',', Some("name"), Some("3")));
        assert_eq!(recs, vec![rec(2, "Paris", "2138551")]);
        let (recs, _) = read_all(&mut csv_src(text, b',', Some("2"), Some("id")));
        assert_eq!(recs, vec![rec(2, "Paris", "1")]);

        let e = CsvSource::new(
            Cursor::new(text.as_bytes().to_vec()),
            b',',
            Some("nope"),
            None,
        )
        .err()
        .unwrap();
        assert_eq!(
            e,
            ParseError::new(1, "key column \"nope\" is not in the header")
        );
        let e = CsvSource::new(Cursor::new(text.as_bytes().to_vec()), b',', None, Some("4"))
            .err()
            .unwrap();
        assert_eq!(e.line, 1);
        assert!(e.msg.contains("out of range"), "{}", e.msg);
    }

    #[test]
    fn csv_quoted_newlines_keep_line_numbers_right() {
        let text = "k,v\na,\"two\nlines\"\nb,ok\nc,too,many\nd,never\n";
        let mut src = csv_src(text, b',', None, Some("v"));
        let (recs, err) = read_all(&mut src);
        assert_eq!(recs, vec![rec(2, "a", "two\nlines"), rec(4, "b", "ok")]);
        assert_eq!(
            err,
            Some(ParseError::new(
                5,
                "expected 2 fields like the header, found 3"
            ))
        );
    }

    #[test]
    fn csv_empty_input_has_no_header() {
        let e = CsvSource::new(Cursor::new(Vec::new()), b',', None, None)
            .err()
            .unwrap();
        assert_eq!(e, ParseError::new(1, "missing header line"));
    }

    #[test]
    fn csv_invalid_utf8_names_line_and_field() {
        let mut src = csv_src(b"k,v\na,1\nb,\xff\n", b',', None, None);
        let (recs, err) = read_all(&mut src);
        assert_eq!(recs.len(), 1);
        assert_eq!(err, Some(ParseError::new(3, "field 2 is not valid UTF-8")));
    }

    #[test]
    fn tsv_has_no_quoting() {
        let mut src = csv_src("k\tv\na\tsay \"hi\", ok\n", b'\t', None, Some("v"));
        let (recs, err) = read_all(&mut src);
        assert_eq!(err, None);
        assert_eq!(recs, vec![rec(2, "a", "say \"hi\", ok")]);
    }

    fn escaped(text: &[u8]) -> (Vec<Record>, Option<ParseError>) {
        read_all(&mut EscapedSource::new(Cursor::new(text.to_vec())))
    }

    #[test]
    fn escaped_lines_decode_every_byte() {
        let (recs, err) = escaped(b"a\\tb\tv\\x00\\\\\n\n0x00ff\t\\x30x\r\nplain\t\n");
        assert_eq!(err, None);
        assert_eq!(
            recs,
            vec![
                Record {
                    line: 1,
                    key: b"a\tb".to_vec(),
                    value: b"v\x00\\".to_vec()
                },
                Record {
                    line: 3,
                    key: b"\x00\xff".to_vec(),
                    value: b"0x\r".to_vec()
                },
                Record {
                    line: 4,
                    key: b"plain".to_vec(),
                    value: Vec::new()
                },
            ]
        );
    }

    #[test]
    fn escaped_lines_that_are_malformed_name_their_line() {
        let (recs, err) = escaped(b"k\tv\nno tab here\n");
        assert_eq!(recs.len(), 1);
        assert_eq!(
            err,
            Some(ParseError::new(
                2,
                "expected key<TAB>value, found 1 tab-separated fields"
            ))
        );
        let (_, err) = escaped(b"a\tb\tc\n");
        assert_eq!(
            err.unwrap().msg,
            "expected key<TAB>value, found 3 tab-separated fields"
        );
        let (_, err) = escaped(b"k\\q\tv\n");
        assert!(err.unwrap().msg.starts_with("key: unknown escape \\q"));
        let (_, err) = escaped(b"k\t0xz\n");
        assert!(err.unwrap().msg.starts_with("value: not valid hex"));
        let (_, err) = escaped(b"k\t\xff\n");
        assert_eq!(err.unwrap().msg, "not valid UTF-8 at byte 3");
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(
            format_from_path(Path::new("a/b.jsonl")),
            Some(Format::Jsonl)
        );
        assert_eq!(format_from_path(Path::new("b.NDJSON")), Some(Format::Jsonl));
        assert_eq!(format_from_path(Path::new("b.csv")), Some(Format::Csv));
        assert_eq!(format_from_path(Path::new("b.tsv")), Some(Format::Tsv));
        assert_eq!(format_from_path(Path::new("b.txt")), None);
        assert_eq!(format_from_path(Path::new("b")), None);
    }
}

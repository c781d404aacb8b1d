//! Spanned-TOML plumbing every section parser reads through: the file is parsed once with
//! `toml_edit` (which keeps each key's and value's position), then each section parser asks a
//! [`Section`] for the keys it knows. A section remembers what was asked of it and, when it
//! is dropped, reports every other entry of its table as unknown (with a "did you mean"
//! suggestion): the known keys and tables are the ones the parsers read, no list is kept by
//! hand. Every error is collected with its line and column, so one pass reports every
//! mistake of the file.
//!
//! A leaf: it imports nothing of the configuration it serves, so a source's config parser
//! depends on this module alone.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use toml_edit::{Document, Item, Key, TableLike, Value};

use super::pattern::Pattern;
use crate::terminal::disruptive;

/// Longest excerpt of a bad value echoed back in a message, in characters.
const MAX_ECHO: usize = 40;

/// The form of a duration, quoted in errors.
const DURATION_FORM: &str = "a duration like \"5s\" (an integer and a unit: ms, s, m, h or d)";

/// Most edits between an unknown name and the known one it suggests.
const MAX_SUGGESTION_EDITS: usize = 2;

/// One mistake in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line of the offending text; 0 when the error is about the whole file.
    pub line: usize,
    /// 1-based column (in characters) of the offending text; 0 with `line`.
    pub column: usize,
    /// What is wrong and what was expected, starting with the context (e.g. `[venue]`).
    pub message: String,
    /// The dotted path of the key it is about (`venue.event`, `source.dhcp.leases`), when
    /// the mistake is one key's; `--log-format json` gives it as a field.
    pub key: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Every mistake found in one configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Something in the file that is valid but probably not what was meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What looks wrong, with its location, and what to do about it.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A value read from the file, with where it was.
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    /// The value, converted.
    pub value: T,
    /// Its bytes in the file, when known.
    pub span: Option<Range<usize>>,
}

/// Parses `text` and hands its top-level table to `walk`; `file` names the file in messages.
/// Returns what `walk` built with the warnings, or every error found, in file order.
///
/// # Errors
///
/// Every mistake of the file; a TOML syntax error is reported alone.
pub(crate) fn read<T>(
    file: &str,
    text: &str,
    walk: impl FnOnce(&Section<'_>) -> T,
) -> Result<(T, Vec<Warning>), ConfigErrors> {
    let parsed = match Document::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            let (line, column) = line_column(text, e.span().map_or(0, |span| span.start));
            return Err(ConfigErrors(vec![ConfigError {
                file: file.to_string(),
                line,
                column,
                message: format!("invalid TOML: {}", syntax_message(e.message())),
                key: None,
            }]));
        }
    };
    let doc = Doc::new(file, text);
    doc.reject_control_characters("", parsed.as_table());
    let built = {
        let root = Section::root(&doc, parsed.as_table());
        walk(&root)
    };
    doc.finish().map(|warnings| (built, warnings))
}

/// Every dotted key path `walk` reads, in the order it reads them (`zone.*` keys belong to
/// each `[[zone]]`): what an empty file is asked for, arrays of tables included.
#[cfg(test)]
pub(crate) fn keys_read<T>(walk: impl FnOnce(&Section<'_>) -> T) -> Vec<String> {
    let parsed = Document::parse("").expect("the empty document is valid TOML");
    let doc = Doc::new("", "");
    {
        let root = Section::root(&doc, parsed.as_table());
        walk(&root);
    }
    doc.keys.into_inner()
}

/// The state of one reading: the text, what was found wrong, and what the parsers asked for.
struct Doc<'t> {
    file: &'t str,
    text: &'t str,
    errors: RefCell<Vec<ConfigError>>,
    warnings: RefCell<Vec<Warning>>,
    /// Errors whose message lists the known tables, written once every table is known.
    unknown: RefCell<Vec<Unknown>>,
    /// Every table asked for, in the order first asked.
    tables: RefCell<Vec<Known>>,
    /// Every leaf key asked for, as a dotted path.
    keys: RefCell<Vec<String>>,
    /// Above zero while a parser is run on an empty table only to learn what it reads.
    quiet: Cell<usize>,
}

/// A table some parser reads.
struct Known {
    /// Its dotted path, `zone.thresholds`.
    path: String,
    /// Written `[[path]]`.
    array: bool,
    /// Whether keys are read in it (a table holding only tables, like `[source]`, is not
    /// listed to people).
    leaf: bool,
}

/// An unknown entry reported once the known tables are all known.
struct Unknown {
    span: Option<Range<usize>>,
    /// ``unknown table `report` ``, or ``unknown key `name` at the top of the file``.
    what: String,
    /// `; did you mean ...?`, or nothing.
    hint: String,
    /// Whether the entry is a key at the top, not a table.
    top_key: bool,
}

impl<'t> Doc<'t> {
    fn new(file: &'t str, text: &'t str) -> Doc<'t> {
        Doc {
            file,
            text,
            errors: RefCell::default(),
            warnings: RefCell::default(),
            unknown: RefCell::default(),
            tables: RefCell::default(),
            keys: RefCell::default(),
            quiet: Cell::new(0),
        }
    }

    fn error(&self, span: Option<Range<usize>>, message: String) {
        self.key_error(span, None, message);
    }

    /// An error about the key at dotted path `key`.
    fn key_error(&self, span: Option<Range<usize>>, key: Option<String>, message: String) {
        if self.quiet.get() > 0 {
            return;
        }
        let (line, column) = match span {
            Some(span) => line_column(self.text, span.start),
            None => (0, 0),
        };
        self.errors.borrow_mut().push(ConfigError {
            file: self.file.to_string(),
            line,
            column,
            message,
            key,
        });
    }

    fn warn(&self, span: Option<Range<usize>>, message: String) {
        if self.quiet.get() > 0 {
            return;
        }
        let location = match span {
            Some(span) => {
                let (line, column) = line_column(self.text, span.start);
                format!("{}:{line}:{column}", self.file)
            }
            None => self.file.to_string(),
        };
        self.warnings.borrow_mut().push(Warning {
            message: format!("{location}: {message}"),
        });
    }

    /// Remembers that a parser reads the table at `path`; returns its index.
    fn known_table(&self, path: &str, array: bool) -> usize {
        let mut tables = self.tables.borrow_mut();
        if let Some(index) = tables.iter().position(|t| t.path == path) {
            return index;
        }
        tables.push(Known {
            path: path.to_string(),
            array,
            leaf: false,
        });
        tables.len() - 1
    }

    /// The tables people may write, as they write them: each after the top-level table it is
    /// in, in the order the parsers ask for them.
    fn known_tables(&self) -> String {
        let tables = self.tables.borrow();
        let top = |path: &str| {
            let first = path.split('.').next().unwrap_or(path);
            tables
                .iter()
                .position(|t| t.path == first)
                .unwrap_or(usize::MAX)
        };
        let mut listed: Vec<(usize, usize, &Known)> = tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.leaf)
            .map(|(i, t)| (top(&t.path), i, t))
            .collect();
        listed.sort_by_key(|(top, i, _)| (*top, *i));
        let names: Vec<String> = listed
            .into_iter()
            .map(|(_, _, t)| {
                if t.array {
                    format!("[[{}]]", t.path)
                } else {
                    format!("[{}]", t.path)
                }
            })
            .collect();
        names.join(", ")
    }

    /// Every mistake of the file in file order, or the warnings.
    fn finish(self) -> Result<Vec<Warning>, ConfigErrors> {
        let known = self.known_tables();
        for unknown in self.unknown.take() {
            let message = if unknown.top_key {
                format!(
                    "{}{}: keys go in a table, one of {known}",
                    unknown.what, unknown.hint
                )
            } else {
                format!(
                    "{}{}: this version of venuemon knows {known}",
                    unknown.what, unknown.hint
                )
            };
            self.error(unknown.span, message);
        }
        let mut errors = self.errors.into_inner();
        if errors.is_empty() {
            return Ok(self.warnings.into_inner());
        }
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(errors))
    }

    /// Reports every key and string value of `table` (and below) that holds a control
    /// character: names are printed on terminals, pages and logs, where one could carry an
    /// escape sequence, and no setting needs one.
    fn reject_control_characters(&self, path: &str, table: &dyn TableLike) {
        for (name, item) in table.iter() {
            let here = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            let key_span = table.key(name).and_then(Key::span);
            if let Some(c) = name.chars().find(|c| disruptive(*c)) {
                self.control_character(key_span.clone(), "a key", c);
            }
            match item {
                Item::Value(value) => self.reject_in_value(&here, value, key_span),
                Item::Table(table) => self.reject_control_characters(&here, table),
                Item::ArrayOfTables(tables) => {
                    for table in tables {
                        self.reject_control_characters(&here, table);
                    }
                }
                Item::None => {}
            }
        }
    }

    fn reject_in_value(&self, path: &str, value: &Value, key_span: Option<Range<usize>>) {
        match value {
            Value::String(s) => {
                if let Some(c) = s.value().chars().find(|c| disruptive(*c)) {
                    self.control_character(s.span().or(key_span), &format!("`{path}`"), c);
                }
            }
            Value::Array(values) => {
                for value in values {
                    self.reject_in_value(path, value, key_span.clone());
                }
            }
            Value::InlineTable(table) => self.reject_control_characters(path, table),
            _ => {}
        }
    }

    fn control_character(&self, span: Option<Range<usize>>, what: &str, c: char) {
        self.error(
            span,
            format!(
                "{what} holds U+{:04X}, a control or bidirectional-formatting character: \
                 these (U+0000–U+001F, U+007F–U+009F, U+061C, U+200E, U+200F, U+202A–U+202E, \
                 U+2066–U+2069, U+2028, U+2029) are not allowed in names or settings; remove it",
                u32::from(c)
            ),
        );
    }

    /// The value as written in the file, cut short, for "got ..." in messages.
    fn got(&self, item: &Item) -> String {
        match item {
            Item::Table(_) => "a table".to_string(),
            Item::ArrayOfTables(_) => "an array of tables".to_string(),
            Item::None => "nothing".to_string(),
            Item::Value(value) => self.got_value(value),
        }
    }

    fn got_value(&self, value: &Value) -> String {
        let written = value
            .span()
            .and_then(|span| self.text.get(span))
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
        match written {
            Some(s) if s.chars().count() > MAX_ECHO => {
                let head: String = s.chars().take(MAX_ECHO).collect();
                format!("{head}…")
            }
            Some(s) => s,
            None => format!("a {}", value.type_name()),
        }
    }
}

/// A table of the file as one section parser reads it. Every key asked for through it is
/// remembered; when it is dropped, every other entry of the table is reported as unknown.
pub(crate) struct Section<'a> {
    doc: &'a Doc<'a>,
    /// How messages name it: `[venue]`, `zone "hall-a"`.
    label: String,
    /// Its dotted path, `source.dhcp` (the same for every table of an array).
    path: String,
    /// The table, when the file has it.
    table: Option<&'a dyn TableLike>,
    /// Where its header is, for missing keys.
    span: Option<Range<usize>>,
    /// Its entry in the doc's known tables; `None` for the top level.
    known: Option<usize>,
    /// The names asked for, and whether any was a key rather than a table.
    asked: RefCell<Vec<String>>,
    leaf: Cell<bool>,
}

impl<'a> Section<'a> {
    fn root(doc: &'a Doc<'a>, table: &'a dyn TableLike) -> Section<'a> {
        Section {
            doc,
            label: String::new(),
            path: String::new(),
            table: Some(table),
            span: None,
            known: None,
            asked: RefCell::default(),
            leaf: Cell::new(false),
        }
    }

    fn child(
        &self,
        key: &str,
        label: String,
        table: Option<&'a dyn TableLike>,
        span: Option<Range<usize>>,
        array: bool,
    ) -> Section<'a> {
        let path = self.child_path(key);
        let known = Some(self.doc.known_table(&path, array));
        Section {
            doc: self.doc,
            label,
            path,
            table,
            span,
            known,
            asked: RefCell::default(),
            leaf: Cell::new(false),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn ask(&self, key: &str) {
        let mut asked = self.asked.borrow_mut();
        if !asked.iter().any(|k| k == key) {
            asked.push(key.to_string());
        }
    }

    /// How messages name this table: `[venue]`, `zone "hall-a"`.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// The same table, named `label` in messages.
    #[must_use]
    pub(crate) fn labelled(mut self, label: String) -> Section<'a> {
        self.label = label;
        self
    }

    /// Whether the file has this table.
    pub(crate) fn is_present(&self) -> bool {
        self.table.is_some()
    }

    /// Whether the file has this table with nothing in it.
    pub(crate) fn is_empty(&self) -> bool {
        self.table.is_some_and(|t| t.is_empty())
    }

    /// Where the table's header is, for errors about the whole table.
    pub(crate) fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    /// The string at `key`, without asking for it: for naming the table before reading it.
    pub(crate) fn peek_str(&self, key: &str) -> Option<&'a str> {
        self.table?.get(key).and_then(Item::as_str)
    }

    /// The entry `key`, with its key; asking for it makes it known.
    pub(crate) fn get(&self, key: &str) -> Option<(&'a Key, &'a Item)> {
        self.ask(key);
        self.leaf.set(true);
        let path = self.child_path(key);
        let mut keys = self.doc.keys.borrow_mut();
        if !keys.contains(&path) {
            keys.push(path);
        }
        drop(keys);
        self.table?.get_key_value(key)
    }

    /// Whether the file sets `key` (which is then known).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Where `key`'s value is (else the key), when the file sets it.
    pub(crate) fn span_of(&self, key: &str) -> Option<Range<usize>> {
        self.get(key)
            .and_then(|(k, item)| item.span().or_else(|| k.span()))
    }

    /// Where the key `key` itself is, when the file sets it.
    pub(crate) fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.get(key).and_then(|(k, _)| k.span())
    }

    /// 1-based line of a span, for messages pointing at another place of the file.
    pub(crate) fn line_of(&self, span: Option<&Range<usize>>) -> usize {
        span.map_or(0, |s| line_column(self.doc.text, s.start).0)
    }

    /// Records a mistake at `span` (the whole file when `None`).
    pub(crate) fn error(&self, span: Option<Range<usize>>, message: String) {
        self.doc.error(span, message);
    }

    /// Records a mistake about this table's `key` at `span`.
    fn key_error(&self, key: &str, span: Option<Range<usize>>, message: String) {
        self.doc
            .key_error(span, Some(self.child_path(key)), message);
    }

    /// Records a warning at `span` (the whole file when `None`).
    pub(crate) fn warn(&self, span: Option<Range<usize>>, message: String) {
        self.doc.warn(span, message);
    }

    /// The value as written in the file, cut short, for "got ..." in messages.
    pub(crate) fn got(&self, item: &Item) -> String {
        self.doc.got(item)
    }

    /// The sub-table `key` (`[path.key]`, or an inline table), named `[path.key]`.
    pub(crate) fn table(&self, key: &str) -> Section<'a> {
        let label = format!("[{}]", self.child_path(key));
        self.table_labelled(key, label)
    }

    /// The sub-table `key`, named `label` in messages (for a table inside an entry of an
    /// array of tables).
    pub(crate) fn table_labelled(&self, key: &str, label: String) -> Section<'a> {
        self.ask(key);
        let mut section = self.child(key, label, None, None, false);
        if let Some((k, item)) = self.table.and_then(|t| t.get_key_value(key)) {
            match item.as_table_like() {
                Some(table) => {
                    section.span = item.span().or_else(|| k.span());
                    section.table = Some(table);
                }
                None => {
                    let path = &section.path;
                    self.error(
                        item.span().or_else(|| k.span()),
                        format!(
                            "`{path}` must be a table, written [{path}], got {}",
                            self.got(item)
                        ),
                    );
                }
            }
        }
        section
    }

    /// The array of tables `key` (written `[[path.key]]`, or a list of inline tables); anything
    /// else under that key is reported.
    pub(crate) fn array(&self, key: &str) -> Tables<'a> {
        self.ask(key);
        let path = self.child_path(key);
        let known = self.doc.known_table(&path, true);
        let mut tables: Vec<(&'a dyn TableLike, Option<Range<usize>>)> = Vec::new();
        if let Some((k, item)) = self.table.and_then(|t| t.get_key_value(key)) {
            match item {
                Item::ArrayOfTables(array) => {
                    for table in array.iter() {
                        tables.push((table, table.span()));
                    }
                }
                Item::Value(Value::Array(array)) => {
                    for value in array.iter() {
                        match value.as_inline_table() {
                            Some(table) => tables.push((table, table.span())),
                            None => self.error(
                                value.span(),
                                format!(
                                    "`{path}` must be a list of tables, each written [[{path}]], got the element {}",
                                    self.doc.got_value(value)
                                ),
                            ),
                        }
                    }
                }
                _ => self.error(
                    item.span().or_else(|| k.span()),
                    format!(
                        "`{path}` must be an array of tables, each written [[{path}]] (two brackets), got {}",
                        self.got(item)
                    ),
                ),
            }
        }
        Tables {
            doc: self.doc,
            path,
            known,
            tables,
        }
    }

    /// Reads `key` with `check`, whose error is the expected form. `None` when the key is
    /// absent or wrong (then an error is recorded).
    pub(crate) fn field<T>(
        &self,
        key: &str,
        check: impl FnOnce(&'a Item) -> Result<T, String>,
    ) -> Option<Spanned<T>> {
        let (k, item) = self.get(key)?;
        let span = item.span().or_else(|| k.span());
        match check(item) {
            Ok(value) => Some(Spanned { value, span }),
            Err(expected) => {
                self.key_error(
                    key,
                    span,
                    format!(
                        "{}: {key} must be {expected}, got {}",
                        self.label,
                        self.got(item)
                    ),
                );
                None
            }
        }
    }

    /// A string that `valid` accepts; `expected` describes it.
    pub(crate) fn string(
        &self,
        key: &str,
        expected: &str,
        valid: impl FnOnce(&str) -> bool,
    ) -> Option<String> {
        self.field(key, |item| match item.as_str() {
            Some(s) if valid(s) => Ok(s.to_string()),
            _ => Err(expected.to_string()),
        })
        .map(|s| s.value)
    }

    /// One of `choices` (name, value); the error lists the names.
    pub(crate) fn choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> Option<T> {
        self.field(key, |item| {
            let chosen = item
                .as_str()
                .and_then(|s| choices.iter().find(|(name, _)| *name == s));
            chosen.map(|(_, value)| *value).ok_or_else(|| {
                let names: Vec<String> = choices.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                match names.split_last() {
                    Some((last, [])) => last.clone(),
                    Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                    None => "nothing".to_string(),
                }
            })
        })
        .map(|c| c.value)
    }

    /// An integer from 1 to `max`.
    pub(crate) fn count(&self, key: &str, max: i64) -> Option<usize> {
        self.field(key, |item| {
            item.as_integer()
                .filter(|n| (1..=max).contains(n))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| format!("an integer from 1 to {max}"))
        })
        .map(|n| n.value)
    }

    /// Records an error when the table lacks `key`; `what` says what the key is for.
    pub(crate) fn require(&self, key: &str, what: &str) {
        if !self.has(key) {
            self.key_error(
                key,
                self.span.clone(),
                format!("{}: missing required key `{key}` ({what})", self.label),
            );
        }
    }

    /// A non-empty path; `example` shows one in the error.
    pub(crate) fn path(&self, key: &str, example: &str) -> Option<PathBuf> {
        let expected = format!("a non-empty path like \"{example}\"");
        self.string(key, &expected, |s| !s.trim().is_empty())
            .map(PathBuf::from)
    }

    /// `true` or `false`.
    pub(crate) fn bool(&self, key: &str) -> Option<bool> {
        self.field(key, |item| {
            item.as_bool().ok_or_else(|| "true or false".to_string())
        })
        .map(|b| b.value)
    }

    /// A duration from `min` to `max`, written like `"5s"`.
    pub(crate) fn duration(
        &self,
        key: &str,
        min: Duration,
        max: Duration,
    ) -> Option<Spanned<Duration>> {
        self.field(key, |item| {
            let d = item
                .as_str()
                .and_then(|s| parse_duration(s).ok())
                .ok_or_else(|| DURATION_FORM.to_string())?;
            if d < min || d > max {
                return Err(format!(
                    "a duration from {} to {}",
                    format_duration(min),
                    format_duration(max)
                ));
            }
            Ok(d)
        })
    }

    /// A source's `interval`: 1 s to 5 min; unset, the source samples at the agent tick.
    pub(crate) fn interval(&self) -> Option<Duration> {
        self.duration("interval", Duration::from_secs(1), Duration::from_secs(300))
            .map(|d| d.value)
    }

    /// A zone id named by `zone` (whether the zone exists is checked once zones are known).
    pub(crate) fn zone_ref(&self) -> Option<Spanned<String>> {
        self.field("zone", |item| {
            item.as_str()
                .map(str::to_string)
                .ok_or_else(|| "the id of a [[zone]], like \"hall-a\"".to_string())
        })
    }

    /// A list of strings, each turned into a `T` by `convert` (whose error is the whole
    /// message after the context); bad elements are reported one by one.
    pub(crate) fn list<T>(
        &self,
        key: &str,
        expected: &str,
        convert: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Vec<Spanned<T>>> {
        let array = self
            .field(key, |item| {
                item.as_array().ok_or_else(|| expected.to_string())
            })?
            .value;
        let mut out = Vec::new();
        for element in array.iter() {
            let span = element.span();
            let converted = match element.as_str() {
                Some(s) => convert(s),
                None => Err(format!(
                    "{key} must be {expected}, got the element {}",
                    self.doc.got_value(element)
                )),
            };
            match converted {
                Ok(value) => out.push(Spanned { value, span }),
                Err(message) => self.key_error(key, span, format!("{}: {message}", self.label)),
            }
        }
        Some(out)
    }

    /// A list of interface names or globs.
    pub(crate) fn patterns(&self, key: &str) -> Option<Vec<Spanned<Pattern>>> {
        self.list(
            key,
            "a list of interface names or globs like [\"wlan0\", \"wlan*\"]",
            |s| Pattern::new(s).map_err(|e| format!("{key}: {e}")),
        )
    }
}

impl Drop for Section<'_> {
    /// Reports every entry of the table that no parser asked for.
    fn drop(&mut self) {
        if let Some(index) = self.known
            && self.leaf.get()
            && let Some(known) = self.doc.tables.borrow_mut().get_mut(index)
        {
            known.leaf = true;
        }
        let Some(table) = self.table else {
            return;
        };
        let asked = self.asked.borrow();
        let names: Vec<&str> = asked.iter().map(String::as_str).collect();
        for (name, item) in table.iter() {
            if names.contains(&name) {
                continue;
            }
            let key_span = table.key(name).and_then(Key::span);
            let hint = suggestion(name, &names)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            if item.is_table_like() || item.is_array_of_tables() {
                self.doc.unknown.borrow_mut().push(Unknown {
                    span: item.span().or(key_span),
                    what: format!("unknown table `{}`", self.child_path(name)),
                    hint,
                    top_key: false,
                });
            } else if self.path.is_empty() {
                self.doc.unknown.borrow_mut().push(Unknown {
                    span: key_span,
                    what: format!("unknown key `{name}` at the top of the file"),
                    hint,
                    top_key: true,
                });
            } else {
                self.key_error(
                    name,
                    key_span,
                    format!("{}: unknown key `{name}`{hint}", self.label),
                );
            }
        }
    }
}

/// The tables of an array of tables, read one by one.
pub(crate) struct Tables<'a> {
    doc: &'a Doc<'a>,
    path: String,
    known: usize,
    tables: Vec<(&'a dyn TableLike, Option<Range<usize>>)>,
}

impl<'a> Tables<'a> {
    /// Reads every table with `parse`, each named `[[path]] #N` (which `parse` may rename),
    /// and keeps what it returns. With no table in the file, `parse` still reads an empty one,
    /// silently, so that its keys and sub-tables are known.
    pub(crate) fn each<T>(self, mut parse: impl FnMut(Section<'a>) -> Option<T>) -> Vec<T> {
        let Tables {
            doc,
            path,
            known,
            tables,
        } = self;
        let entry = |number: usize, table, span| Section {
            doc,
            label: format!("[[{path}]] #{number}"),
            path: path.clone(),
            table,
            span,
            known: Some(known),
            asked: RefCell::default(),
            leaf: Cell::new(false),
        };
        if tables.is_empty() {
            doc.quiet.set(doc.quiet.get() + 1);
            drop(parse(entry(1, None, None)));
            doc.quiet.set(doc.quiet.get() - 1);
            return Vec::new();
        }
        tables
            .into_iter()
            .enumerate()
            .filter_map(|(n, (table, span))| parse(entry(n + 1, Some(table), span)))
            .collect()
    }
}

/// Makes `toml_edit`'s (possibly multi-line) message fit on one line.
fn syntax_message(message: &str) -> String {
    let parts: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if parts.is_empty() {
        "syntax error".to_string()
    } else {
        parts.join("; ")
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    (line, column)
}

/// The known name closest to `name`, if within two edits.
fn suggestion<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(name, k), *k))
        .filter(|(d, _)| *d <= MAX_SUGGESTION_EDITS)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Parses a duration: an integer followed by a unit, `ms`, `s`, `m`, `h` or `d`
/// (e.g. `"500ms"`, `"5s"`, `"90d"`).
///
/// # Errors
///
/// A message naming the expected form when the text is not such a duration or overflows.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let form = "expected an integer and a unit: ms, s, m, h or d (e.g. \"500ms\", \"5s\", \"90d\")";
    if digits.is_empty() {
        return Err(format!("no number before the unit; {form}"));
    }
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "" => return Err(format!("no unit; {form}")),
        _ => return Err(format!("unknown unit; {form}")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(millis_per_unit))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("number too large; {form}"))
}

/// Formats a duration in the largest unit that divides it, as the file would write it.
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms != 0 && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// Whether `id` is a valid id for a zone or an access point, as labels and URLs carry it:
/// `[a-z0-9][a-z0-9_-]{0,63}`.
pub(crate) fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// `text` quoted, cut to 40 characters, for "got ..." in messages.
pub(crate) fn shorten_quoted(text: &str) -> String {
    if text.chars().count() > MAX_ECHO {
        let head: String = text.chars().take(MAX_ECHO).collect();
        format!("{head:?}…")
    } else {
        format!("{text:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "5",
            "s",
            "5 s",
            "5sec",
            "-5s",
            "1.5s",
            "5S",
            "99999999999999999999d",
        ] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(
                err.contains("expected an integer and a unit"),
                "{bad}: {err}"
            );
        }
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
    }

    #[test]
    fn suggestions_need_two_edits_or_fewer() {
        assert_eq!(strsim::levenshtein("nmae", "name"), 2);
        assert_eq!(
            suggestion("intervl", &["interval", "enabled"]),
            Some("interval")
        );
        assert_eq!(suggestion("colour", &["name", "event"]), None);
    }

    #[test]
    fn the_keys_read_are_the_known_keys() {
        let walk = |root: &Section<'_>| {
            let venue = root.table("venue");
            venue.string("name", "a name", |_| true);
            root.array("zone").each(|zone| {
                zone.has("id");
                zone.table("thresholds").bool("strict");
                Some(())
            });
        };
        assert_eq!(
            keys_read(walk),
            ["venue.name", "zone.id", "zone.thresholds.strict"]
        );
        let Err(errors) = read(
            "f.toml",
            "[venue]\nnam = 1\n[[zone]]\nid = 1\nthreshold = {}\n",
            walk,
        ) else {
            panic!("unknown entries");
        };
        assert_eq!(
            errors.to_string(),
            "f.toml:2:1: [venue]: unknown key `nam`; did you mean `name`?\n\
             f.toml:5:13: unknown table `zone.threshold`; did you mean `thresholds`?: this \
             version of venuemon knows [venue], [[zone]], [zone.thresholds]"
        );
    }
}

//! Splits master-file text into entries: one record or directive each,
//! with lines inside parentheses joined (RFC 1035 §5.1).
//!
//! Tokens are ranges into the text; nothing is copied or unescaped here.
//! A token keeps its escapes (`\.` must stay distinct from `.` until a name
//! is read) and loses only its surrounding quotes. A quoted part right
//! after `=` inside a token (`alpn="h2,h3"`, RFC 9460 Appendix A) stays
//! part of that token, quotes included.

/// One token: a range of the text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    /// Offset of the first byte (after the opening quote, if quoted).
    pub(crate) start: usize,
    /// Offset just past the last byte (before the closing quote).
    pub(crate) end: usize,
    /// The 1-based line the token is on.
    pub(crate) line: u32,
    /// Whether the token was written in double quotes.
    pub(crate) quoted: bool,
}

/// The tokens of one record or directive. Reused from entry to entry.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    /// The line where the entry starts.
    pub(crate) line: u32,
    /// Whether the entry's line starts with blank space (no owner field).
    pub(crate) blank_owner: bool,
    /// The tokens, in order.
    pub(crate) tokens: Vec<Token>,
    /// The range of the region list of a `;@regions LIST` line (read only
    /// when the lexer is asked to, see [`Lexer::read_regions`]).
    pub(crate) regions: Option<(usize, usize)>,
}

/// A syntax error found while splitting an entry.
#[derive(Debug)]
pub(crate) struct LexError {
    /// The line of the problem.
    pub(crate) line: u32,
    /// What is wrong.
    pub(crate) message: &'static str,
}

/// Byte classes for the main loop.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Space, tab or carriage return.
    Blank,
    /// Line feed.
    Newline,
    /// `;`, up to the end of the line.
    Comment,
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `"`.
    Quote,
    /// Anything else: the start of an unquoted token.
    Word,
}

/// The class of every byte.
const CLASSES: [Class; 256] = {
    let mut table = [Class::Word; 256];
    table[b' ' as usize] = Class::Blank;
    table[b'\t' as usize] = Class::Blank;
    table[b'\r' as usize] = Class::Blank;
    table[b'\n' as usize] = Class::Newline;
    table[b';' as usize] = Class::Comment;
    table[b'(' as usize] = Class::Open;
    table[b')' as usize] = Class::Close;
    table[b'"' as usize] = Class::Quote;
    table
};

/// Bytes that end an unquoted token or need a closer look inside one.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = !matches!(CLASSES[i], Class::Word);
        i += 1;
    }
    table[b'\\' as usize] = true;
    table
};

/// The start of a line that holds a record limited to some regions:
/// `;@regions ams,sv1 www 300 IN A 192.0.2.7`. Other servers read a
/// comment.
pub(crate) const REGIONS_PREFIX: &[u8] = b";@regions ";

/// Splits text into entries.
pub(crate) struct Lexer<'a> {
    /// The whole text.
    src: &'a [u8],
    /// Whether `;@regions LIST` lines are records (else comments).
    regions: bool,
    /// Where the next byte is read.
    pos: usize,
    /// The line of `pos`, 1-based.
    line: u32,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`, after a UTF-8 byte order mark if
    /// there is one.
    pub(crate) fn new(src: &'a [u8]) -> Lexer<'a> {
        let pos = if src.starts_with(b"\xef\xbb\xbf") {
            3
        } else {
            0
        };
        Lexer {
            src,
            regions: false,
            pos,
            line: 1,
        }
    }

    /// Makes `;@regions LIST` lines records with a region list
    /// ([`Entry::regions`]) instead of comments.
    pub(crate) fn read_regions(mut self, on: bool) -> Lexer<'a> {
        self.regions = on;
        self
    }

    /// Reads the next non-empty entry into `entry`; `None` at the end of
    /// the text.
    ///
    /// After an error the rest of the entry (up to the next line break
    /// outside parentheses) is skipped, so the caller can go on.
    pub(crate) fn next_entry(&mut self, entry: &mut Entry) -> Option<Result<(), LexError>> {
        entry.tokens.clear();
        let mut depth = 0u32;
        let mut paren_line = 0u32;
        let mut error: Option<LexError> = None;
        let mut line_start = true;
        loop {
            if line_start && depth == 0 && entry.tokens.is_empty() {
                entry.line = self.line;
                entry.blank_owner = matches!(self.src.get(self.pos), Some(b' ' | b'\t'));
                entry.regions = None;
                let rest = self.src.get(self.pos..).unwrap_or_default();
                if self.regions && rest.starts_with(REGIONS_PREFIX) {
                    let start = self.pos + REGIONS_PREFIX.len();
                    let list = self.src.get(start..).unwrap_or_default();
                    let len = list
                        .iter()
                        .position(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
                        .unwrap_or(list.len());
                    entry.regions = Some((start, start + len));
                    self.pos = start + len;
                }
            }
            line_start = false;
            let Some(&b) = self.src.get(self.pos) else {
                if depth > 0 && error.is_none() {
                    error = Some(LexError {
                        line: paren_line,
                        message: "unbalanced parentheses",
                    });
                }
                return match error {
                    Some(e) => Some(Err(e)),
                    None if entry.tokens.is_empty() => None,
                    None => Some(Ok(())),
                };
            };
            match CLASSES[usize::from(b)] {
                Class::Blank => self.pos += 1,
                Class::Newline => {
                    self.pos += 1;
                    self.line = self.line.saturating_add(1);
                    line_start = true;
                    if depth == 0 {
                        // A `;@regions` line with no record on it.
                        if entry.tokens.is_empty() && entry.regions.is_some() && error.is_none() {
                            entry.regions = None;
                            error = Some(LexError {
                                line: self.line - 1,
                                message: "a ;@regions line needs a record after its regions",
                            });
                        }
                        if let Some(e) = error {
                            return Some(Err(e));
                        }
                        if !entry.tokens.is_empty() {
                            return Some(Ok(()));
                        }
                    }
                }
                Class::Comment => {
                    let rest = self.src.get(self.pos..).unwrap_or_default();
                    self.pos += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                }
                Class::Open => {
                    if depth == 0 {
                        paren_line = self.line;
                    }
                    depth = depth.saturating_add(1);
                    self.pos += 1;
                }
                Class::Close => {
                    if depth == 0 {
                        error.get_or_insert(LexError {
                            line: self.line,
                            message: "unbalanced parentheses",
                        });
                    } else {
                        depth -= 1;
                    }
                    self.pos += 1;
                }
                Class::Quote => {
                    let start = self.pos + 1;
                    match self.skip_quoted(start) {
                        Ok(end) => {
                            self.push(entry, start, end, true);
                            self.pos = end + 1;
                        }
                        Err(end) => {
                            error.get_or_insert(unterminated(self.line));
                            self.pos = end;
                        }
                    }
                }
                Class::Word => {
                    let start = self.pos;
                    match self.skip_word(start) {
                        Ok(end) => {
                            self.push(entry, start, end, false);
                            self.pos = end;
                        }
                        Err(end) => {
                            error.get_or_insert(unterminated(self.line));
                            self.pos = end;
                        }
                    }
                }
            }
        }
    }

    /// Adds a token on the current line.
    fn push(&self, entry: &mut Entry, start: usize, end: usize, quoted: bool) {
        if entry.tokens.is_empty() {
            entry.line = self.line;
        }
        entry.tokens.push(Token {
            start,
            end,
            line: self.line,
            quoted,
        });
    }

    /// Finds the closing quote of a quoted part that starts at `i`.
    /// `Ok(offset of the closing quote)`, or `Err(offset of the line break
    /// or end of text)` if there is none on this line.
    fn skip_quoted(&self, mut i: usize) -> Result<usize, usize> {
        loop {
            match self.src.get(i) {
                None | Some(b'\n') => return Err(i.min(self.src.len())),
                Some(b'"') => return Ok(i),
                // An escape covers the next byte, but never a line break.
                Some(b'\\') if !matches!(self.src.get(i + 1), None | Some(b'\n')) => i += 2,
                Some(_) => i += 1,
            }
        }
    }

    /// Finds the end of an unquoted token that starts at `i`. `Err` as for
    /// [`Lexer::skip_quoted`] if a quoted part in it is not closed.
    fn skip_word(&self, mut i: usize) -> Result<usize, usize> {
        loop {
            let Some(&c) = self.src.get(i) else {
                return Ok(i);
            };
            if !SPECIAL[usize::from(c)] {
                i += 1;
                continue;
            }
            match c {
                b'\\' if !matches!(self.src.get(i + 1), None | Some(b'\n')) => i += 2,
                b'\\' => i += 1,
                b'"' if i > 0 && self.src.get(i - 1) == Some(&b'=') => {
                    i = self.skip_quoted(i + 1)? + 1;
                }
                b'"' => i += 1,
                _ => return Ok(i),
            }
        }
    }
}

/// The error for a quoted string that does not end on its line.
fn unterminated(line: u32) -> LexError {
    LexError {
        line,
        message: "unterminated quoted string",
    }
}

//----------- Cursor ----------------------------------------------------------

/// The text of one token and whether it was quoted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tok<'a> {
    /// The bytes between the delimiters, escapes still in place.
    pub(crate) text: &'a [u8],
    /// Whether the token was written in double quotes.
    pub(crate) quoted: bool,
}

/// Hands out the tokens of an entry in order and remembers the line of the
/// last one, for error positions.
pub(crate) struct Cursor<'a> {
    /// The text the tokens point into.
    src: &'a [u8],
    /// The tokens.
    tokens: &'a [Token],
    /// Index of the next token.
    next: usize,
    /// The line of the last token handed out (at first, the entry's line).
    line: u32,
}

impl<'a> Cursor<'a> {
    /// A cursor at the first of `tokens`; `line` is the entry's line.
    pub(crate) fn new(src: &'a [u8], tokens: &'a [Token], line: u32) -> Cursor<'a> {
        Cursor {
            src,
            tokens,
            next: 0,
            line,
        }
    }

    /// The next token without taking it.
    pub(crate) fn peek(&self) -> Option<Tok<'a>> {
        let token = self.tokens.get(self.next)?;
        Some(Tok {
            text: self.src.get(token.start..token.end).unwrap_or_default(),
            quoted: token.quoted,
        })
    }

    /// Takes the next token, or fails with "missing {what}".
    pub(crate) fn required(&mut self, what: &str) -> Result<Tok<'a>, String> {
        self.next().ok_or_else(|| format!("missing {what}"))
    }

    /// The line of the last token taken.
    pub(crate) fn line(&self) -> u32 {
        self.line
    }
}

impl<'a> Iterator for Cursor<'a> {
    type Item = Tok<'a>;

    /// Takes the next token.
    fn next(&mut self) -> Option<Tok<'a>> {
        let tok = self.peek()?;
        if let Some(token) = self.tokens.get(self.next) {
            self.line = token.line;
        }
        self.next += 1;
        Some(tok)
    }
}

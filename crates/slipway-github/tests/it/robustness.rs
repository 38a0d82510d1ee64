//! No input makes the checker panic: real workflows (the reader cases, and the corpus when it is
//! there) mutated at random, with bytes replaced by YAML's and expressions' punctuation, spans
//! deleted, lines duplicated and the text cut short, each checked with its calls resolved to
//! another mutated file. A panic fails the test; the seed and the case are printed first.

use std::path::PathBuf;

use slipway_diagnostics::FileId;

/// xorshift64*: deterministic, so a failure can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(bound.max(1)).unwrap_or(1)).unwrap_or(0)
    }
}

const PIECES: &[&str] = &[
    ":",
    "-",
    " ",
    "\n",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    "$",
    "${{",
    "}}",
    "&a",
    "*a",
    "!!",
    "#",
    "|",
    ">",
    "\t",
    "~",
    "null",
    "on",
    "jobs",
    "needs",
    "uses: ",
    "${{ matrix.x }}",
    "${{ insert }}",
    "(",
    ")",
    ",",
    "&&",
    "\u{1F600}",
];

fn mutate(text: &str, random: &mut Random) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=random.below(6) {
        let at = random.below(bytes.len() + 1);
        match random.below(5) {
            0 => {
                let piece = PIECES[random.below(PIECES.len())].as_bytes();
                bytes.splice(at..at, piece.iter().copied());
            }
            1 => {
                let end = (at + random.below(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 if at < bytes.len() => bytes[at] = PIECES[random.below(PIECES.len())].as_bytes()[0],
            3 => bytes.truncate(at),
            _ => {
                let end = (at + random.below(200)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn inputs() -> Vec<String> {
    let mut files: Vec<PathBuf> = Vec::new();
    let reader = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reader");
    if let Ok(entries) = std::fs::read_dir(&reader) {
        files.extend(entries.filter_map(|entry| entry.ok().map(|entry| entry.path())));
    }
    if let Some(corpus) = crate::corpus::corpus() {
        files.extend(crate::corpus::manifest(&corpus).into_iter().map(|(local, _, _)| corpus.join(local)));
    }
    files.sort();
    files.iter().filter_map(|path| std::fs::read_to_string(path).ok()).collect()
}

#[test]
fn mutated_workflows_never_make_the_checker_panic() {
    let inputs = inputs();
    assert!(inputs.len() >= 130, "the reader cases are there");
    let seed = std::env::var("SLIPWAY_FUZZ_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or(0x5EED_1234_u64);
    let rounds: usize = std::env::var("SLIPWAY_FUZZ_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(6);
    let mut random = Random(seed);
    let mut checked = 0usize;
    for round in 0..rounds {
        for (index, text) in inputs.iter().enumerate() {
            let mutated = mutate(text, &mut random);
            let callee = mutate(&inputs[random.below(inputs.len())], &mut random);
            let called = |_: &str| Some((FileId(1), callee.clone()));
            let outcome = std::panic::catch_unwind(|| {
                slipway_github::check_with(&mutated, FileId(0), &slipway_github::Options::default(), &called)
            });
            assert!(
                outcome.is_ok(),
                "the checker panicked (seed {seed}, round {round}, input {index}) on:\n{mutated}\n--- calling:\n{callee}"
            );
            checked += 1;
            let _ = slipway_github::looks_like_workflow(".github/workflows/x.yml", &mutated);
        }
    }
    println!("{checked} mutated workflows checked without a panic (seed {seed})");
}

#[test]
fn calls_that_fan_out_are_followed_only_so_far() {
    let mut text = String::from("on: workflow_call\njobs:\n");
    for job in 0..10 {
        text.push_str(&format!("  j{job}:\n    uses: ./.github/workflows/self.yml\n"));
    }
    let called = |_: &str| Some((FileId(1), text.clone()));
    let started = std::time::Instant::now();
    let checked = slipway_github::check_with(&text, FileId(0), &slipway_github::Options::default(), &called);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(
        checked.diagnostics.iter().any(|d| d.message.contains("may not contain more than 256 jobs")),
        "{:?}",
        checked.diagnostics
    );
}

//! Every fuzz target over its committed corpus (fuzz/corpus/<target>/), on the stable
//! toolchain and without libFuzzer: the regression check CI runs (scripts/test.sh). The
//! seeds are real data and every input a fuzzing run found a bug with, so a parser that
//! breaks again fails here, naming the target and the file. Fuzzing itself (new inputs,
//! AddressSanitizer) is `scripts/fuzz.sh`, on nightly.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = corpus_dir().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_corpus_and_every_corpus_a_target() {
    let targets: BTreeSet<&str> = fuzz_support::targets::ALL
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let corpora: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .expect("fuzz/corpus")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let corpora: BTreeSet<&str> = corpora.iter().map(String::as_str).collect();
    assert_eq!(
        targets, corpora,
        "fuzz targets and fuzz/corpus/ directories differ"
    );
    for target in targets {
        assert!(
            !inputs(target).is_empty(),
            "fuzz/corpus/{target}/ has no seed"
        );
    }
}

#[test]
fn every_target_takes_its_corpus() {
    let mut failed = Vec::new();
    let mut replayed = 0;
    for (target, fuzz) in fuzz_support::targets::ALL {
        for file in inputs(target) {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            replayed += 1;
            if catch_unwind(AssertUnwindSafe(|| fuzz(&data))).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {replayed} inputs panicked: {failed:#?}",
        failed.len()
    );
    println!("{replayed} inputs replayed");
}

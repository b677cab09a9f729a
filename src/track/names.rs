//! Generated run names of MLflow's shape, `adjective-noun-number` (e.g. `gentle-owl-417`), for
//! runs created without a name: at most 20 characters, number in 0..=1000.

use rand::Rng;
use rand::seq::IndexedRandom;

const MAX_LEN: usize = 20;
const MAX_NUMBER: u32 = 1000;

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "ancient", "bold", "brave", "bright", "brisk", "calm", "candid", "clever",
    "cosmic", "crisp", "curious", "daring", "dapper", "eager", "earnest", "fancy", "fearless",
    "gentle", "gifted", "glad", "golden", "graceful", "happy", "honest", "humble", "jolly", "keen",
    "kind", "lively", "lucky", "loyal", "mellow", "merry", "mighty", "modest", "nimble", "noble",
    "patient", "placid", "polite", "proud", "quick", "quiet", "rare", "serene", "sharp", "shiny",
    "silent", "smart", "steady", "sunny", "swift", "tidy", "upbeat", "vivid", "warm", "wise",
    "witty", "zealous", "zesty",
];

const NOUNS: &[&str] = &[
    "ant", "ape", "bat", "bear", "bee", "bison", "boar", "carp", "cat", "cod", "crab", "crane",
    "crow", "deer", "dog", "dove", "duck", "eel", "elk", "finch", "fox", "frog", "gnu", "goat",
    "goose", "gull", "hare", "hawk", "hen", "heron", "ibis", "jay", "koi", "lamb", "lark", "lynx",
    "mole", "moose", "moth", "mouse", "mule", "newt", "otter", "owl", "ox", "panda", "pike",
    "quail", "ram", "raven", "robin", "seal", "shark", "sloth", "snail", "swan", "tern", "toad",
    "trout", "vole", "wasp", "whale", "wolf", "wren", "yak", "zebra",
];

/// A random name like MLflow's client generates.
pub fn generate_run_name() -> String {
    generate_with(&mut rand::rng())
}

/// Deterministic for a given RNG (tests).
pub fn generate_with<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut name = String::new();
    for _ in 0..10 {
        let adj = ADJECTIVES.choose(rng).copied().unwrap_or("quick");
        let noun = NOUNS.choose(rng).copied().unwrap_or("fox");
        let num = rng.random_range(0..=MAX_NUMBER);
        name = format!("{adj}-{noun}-{num}");
        if name.len() <= MAX_LEN {
            return name;
        }
    }
    name.truncate(MAX_LEN);
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn names_have_mlflow_shape() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let n = generate_with(&mut rng);
            assert!(n.len() <= MAX_LEN, "{n}");
            let parts: Vec<&str> = n.split('-').collect();
            assert_eq!(parts.len(), 3, "{n}");
            assert!(ADJECTIVES.contains(&parts[0]), "{n}");
            assert!(NOUNS.contains(&parts[1]), "{n}");
            let num: u32 = parts[2].parse().expect("number");
            assert!(num <= MAX_NUMBER);
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
        }
    }

    #[test]
    fn names_vary() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let names: std::collections::HashSet<String> =
            (0..200).map(|_| generate_with(&mut rng)).collect();
        assert!(names.len() > 190, "only {} distinct names", names.len());
    }

    #[test]
    fn every_word_pair_fits_without_truncation() {
        // adjective + noun + "-1000" with two dashes must fit, so the retry loop always succeeds.
        let longest_adj = ADJECTIVES.iter().map(|s| s.len()).max().unwrap();
        let longest_noun = NOUNS.iter().map(|s| s.len()).max().unwrap();
        assert!(longest_adj + longest_noun + 2 + 4 <= MAX_LEN);
    }
}

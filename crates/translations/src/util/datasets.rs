//! Dataset names as they appear in task labels.

use md5::{Digest, Md5};

/// Longer names are cut and given a hash suffix: labels end up in index
/// routes, which must stay under 256 characters.
pub const DATASET_NAME_MAX_LENGTH: usize = 50;

/// The label-safe form of a dataset name (the pipeline's own
/// `Dataset._escape` must agree with it).
///
/// A URL becomes `<host>_<file stem>_<6 hex digits of its MD5>`, with
/// `storage.googleapis.com` shortened to `gcp` and `[LANG]` markers
/// dropped; another name longer than [`DATASET_NAME_MAX_LENGTH`]
/// characters is cut to that length and given the same kind of hash. Then
/// `://`, `/`, `.`, `:`, `[`, `]` and `@` become `_`.
pub fn sanitize_dataset_name(dataset: &str) -> String {
    let named = if dataset.starts_with("https://") || dataset.starts_with("http://") {
        let (host, path) = split_url(dataset);
        // `urlparse(...).hostname` is None for an empty host, which the
        // f-string spells `None`.
        let host = match host.as_str() {
            "storage.googleapis.com" => "gcp".to_owned(),
            "" => "None".to_owned(),
            _ => host,
        };
        let file = path_stem(&path)
            .replace(".[LANG]", "")
            .replace("[LANG]", "");
        format!("{host}_{file}_{}", short_md5(dataset))
    } else if dataset.chars().count() > DATASET_NAME_MAX_LENGTH {
        let truncated: String = dataset.chars().take(DATASET_NAME_MAX_LENGTH).collect();
        format!("{truncated}_{}", short_md5(dataset))
    } else {
        dataset.to_owned()
    };
    named
        .replace("://", "_")
        .replace(['/', '.', ':', '[', ']', '@'], "_")
}

fn short_md5(text: &str) -> String {
    let digest = Md5::digest(text.as_bytes());
    digest
        .iter()
        .take(3)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The host (lowercased, without user or port) and the path of an
/// `http(s)://` URL, split the way Python's `urlparse` splits them: the path
/// stops at `?` or `#`, and `;params` of its last segment are not part of
/// it.
fn split_url(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);

    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };

    let path_end = after.find(['?', '#']).unwrap_or(after.len());
    let mut path = &after[..path_end];
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    if let Some(semicolon) = path[last_slash..].find(';') {
        path = &path[..last_slash + semicolon];
    }
    (host.to_lowercase(), path.to_owned())
}

/// `pathlib.PurePosixPath(path).stem`: the last component (pathlib drops
/// empty and `.` components) without its last suffix; a leading dot does
/// not start a suffix.
fn path_stem(path: &str) -> String {
    let name = path
        .split('/')
        .rfind(|part| !part.is_empty() && *part != ".")
        .unwrap_or_default();
    match name.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < name.len() => name[..dot].to_owned(),
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_only_lose_their_separators() {
        assert_eq!(sanitize_dataset_name("opus_Books/v1"), "opus_Books_v1");
        assert_eq!(
            sanitize_dataset_name("mtdata_Statmt-news_commentary-16-eng-rus"),
            "mtdata_Statmt-news_commentary-16-eng-rus"
        );
    }

    #[test]
    fn urls_become_host_stem_and_hash() {
        let url = "https://storage.googleapis.com/releng-translations-dev/data/en-ru/pytest-dataset.[LANG].zst";
        let name = sanitize_dataset_name(url);
        let hash = short_md5(url);
        assert_eq!(name, format!("gcp_pytest-dataset_{hash}"));

        let other = "https://Example.COM:8080/a/b/corpus.tsv?x=1";
        assert_eq!(
            sanitize_dataset_name(other),
            format!("example_com_corpus_{}", short_md5(other))
        );
    }

    #[test]
    fn urls_without_a_host_spell_none() {
        // Python: sanitize_dataset_name('https:///a/b.txt') == 'None_b_3b60ed'
        // and 'http://user@/x.tsv' gives 'None_x_1d9e09'.
        assert_eq!(sanitize_dataset_name("https:///a/b.txt"), "None_b_3b60ed");
        assert_eq!(sanitize_dataset_name("http://user@/x.tsv"), "None_x_1d9e09");
        assert_eq!(
            sanitize_dataset_name("https://[::1]:80/p/q.gz"),
            "__1_q_534015"
        );
    }

    #[test]
    fn long_names_are_cut_and_hashed() {
        let long =
            "mtdata_ELRC-convention_against_torture_other_cruel_inhuman_or_degrading_treatment";
        let name = sanitize_dataset_name(long);
        assert!(
            name.starts_with("mtdata_ELRC-convention_against_torture_other_cruel_"),
            "{name}"
        );
        assert_eq!(name.len(), DATASET_NAME_MAX_LENGTH + 7);
    }

    #[test]
    fn stems_follow_pathlib() {
        assert_eq!(path_stem("/a/file.tar.gz"), "file.tar");
        assert_eq!(path_stem("/a/.hidden"), ".hidden");
        assert_eq!(path_stem("/a/dir/"), "dir");
        assert_eq!(path_stem(""), "");
        assert_eq!(path_stem("/a/."), "a");
        assert_eq!(path_stem("/a/./b.txt"), "b");
        assert_eq!(path_stem("/.."), "..");
    }
}

//! Container kinds as types: one zero-sized marker per kind, tied by [`ContainerKind`] to
//! its wire types and its collection, so that code over "any container" (a finder, a
//! handle, a server's route table) is written once and named by the kind it serves.

use crate::{
    Acquisition, AcquisitionInput, AcquisitionUpdate, Analysis, AnalysisInput, ContainerType,
    Group, GroupInput, GroupUpdate, Project, ProjectInput, ProjectUpdate, Session, SessionInput,
    SessionUpdate, Subject, SubjectInput, SubjectUpdate, WireModel,
};

/// Ties a container kind to its wire types and its collection.
///
/// ```
/// use fw_model::{ContainerKind, ContainerType, ProjectKind};
///
/// fn url_of<K: ContainerKind>(wire: &K::Wire) -> Option<String> {
///     K::id(wire).map(|id| format!("/{}/{id}", K::COLLECTION))
/// }
///
/// let project: fw_model::Project =
///     serde_json::from_str(r#"{"_id": "650000000000000000000001", "label": "P"}"#)?;
/// assert_eq!(url_of::<ProjectKind>(&project).as_deref(), Some("/projects/650000000000000000000001"));
/// assert_eq!(ProjectKind::TYPE, ContainerType::Project);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub trait ContainerKind: Send + Sync + 'static {
    /// The wire value (`Project`, …).
    type Wire: WireModel + Clone + std::fmt::Debug + Send + Sync + 'static;
    /// The create body (`ProjectInput`, …).
    type Create: WireModel + Clone + std::fmt::Debug + Default + Send + Sync + 'static;
    /// The update body (`ProjectUpdate`, …); for kinds without an update model (analyses),
    /// the create model.
    type Update: WireModel + Clone + std::fmt::Debug + Default + Send + Sync + 'static;
    /// The collection in URLs: "groups", "projects", "subjects", "sessions",
    /// "acquisitions", "analyses".
    const COLLECTION: &'static str;
    /// The singular, as `container_type` says it: "group", "project", …
    const NAME: &'static str;
    /// The `ContainerType` value.
    const TYPE: ContainerType;
    /// The parent kind's field name in create bodies (docs/wire.md §4: `group` for a
    /// project, `project` for a subject and for a session, `session` for an acquisition);
    /// None for groups, and for analyses, whose parent is in the URL
    /// (`POST /{collection}/{id}/analyses`). A session made from a subject also carries
    /// `subject: {"_id": …}`, but `project` is the field every session create sends.
    const PARENT_FIELD: Option<&'static str>;
    /// The id of a wire value (`_id`), if present. Groups' ids are `GroupId`, so this
    /// returns the id text.
    fn id(wire: &Self::Wire) -> Option<&str>;
}

/// Marker: kinds whose containers hold files (all but groups).
pub trait HasFiles: ContainerKind {}

/// Marker: `Child` is a child kind of `Self` reachable by a finder
/// (group→projects, project→subjects, project→sessions, subject→sessions,
/// session→acquisitions).
pub trait ParentOf<Child: ContainerKind>: ContainerKind {}

/// Declares one marker and its [`ContainerKind`] impl; the six kinds differ only in these
/// names, so one table keeps them side by side.
macro_rules! kind {
    ($(#[$doc:meta])* $marker:ident, $wire:ty, $create:ty, $update:ty,
     $collection:literal, $name:literal, $variant:ident, $parent:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $marker;

        impl ContainerKind for $marker {
            type Wire = $wire;
            type Create = $create;
            type Update = $update;
            const COLLECTION: &'static str = $collection;
            const NAME: &'static str = $name;
            const TYPE: ContainerType = ContainerType::$variant;
            const PARENT_FIELD: Option<&'static str> = $parent;
            fn id(wire: &Self::Wire) -> Option<&str> {
                wire.id.as_ref().map(|id| id.as_str())
            }
        }
    };
}

kind!(
    /// Groups: `/groups`, top of the tree; ids are chosen by their creator.
    GroupKind, Group, GroupInput, GroupUpdate, "groups", "group", Group, None
);
kind!(
    /// Projects: `/projects`, children of a group.
    ProjectKind, Project, ProjectInput, ProjectUpdate, "projects", "project", Project,
    Some("group")
);
kind!(
    /// Subjects: `/subjects`, children of a project.
    SubjectKind, Subject, SubjectInput, SubjectUpdate, "subjects", "subject", Subject,
    Some("project")
);
kind!(
    /// Sessions: `/sessions`, children of a subject (and of its project).
    SessionKind, Session, SessionInput, SessionUpdate, "sessions", "session", Session,
    Some("project")
);
kind!(
    /// Acquisitions: `/acquisitions`, children of a session.
    AcquisitionKind, Acquisition, AcquisitionInput, AcquisitionUpdate, "acquisitions",
    "acquisition", Acquisition, Some("session")
);
kind!(
    /// Analyses: `/analyses`, attached to any container but a group; updated with the
    /// create model (the schema has no analysis update model).
    AnalysisKind, Analysis, AnalysisInput, AnalysisInput, "analyses", "analysis", Analysis,
    None
);

impl HasFiles for ProjectKind {}
impl HasFiles for SubjectKind {}
impl HasFiles for SessionKind {}
impl HasFiles for AcquisitionKind {}
impl HasFiles for AnalysisKind {}

impl ParentOf<ProjectKind> for GroupKind {}
impl ParentOf<SubjectKind> for ProjectKind {}
impl ParentOf<SessionKind> for ProjectKind {}
impl ParentOf<SessionKind> for SubjectKind {}
impl ParentOf<AcquisitionKind> for SessionKind {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a kind says about itself, as one comparable row.
    fn row<K: ContainerKind>() -> (
        &'static str,
        &'static str,
        ContainerType,
        Option<&'static str>,
    ) {
        (K::COLLECTION, K::NAME, K::TYPE, K::PARENT_FIELD)
    }

    #[test]
    fn kinds_name_their_collection_type_and_parent_field() {
        use ContainerType as T;
        assert_eq!(row::<GroupKind>(), ("groups", "group", T::Group, None));
        assert_eq!(
            row::<ProjectKind>(),
            ("projects", "project", T::Project, Some("group"))
        );
        assert_eq!(
            row::<SubjectKind>(),
            ("subjects", "subject", T::Subject, Some("project"))
        );
        assert_eq!(
            row::<SessionKind>(),
            ("sessions", "session", T::Session, Some("project"))
        );
        assert_eq!(
            row::<AcquisitionKind>(),
            (
                "acquisitions",
                "acquisition",
                T::Acquisition,
                Some("session")
            )
        );
        assert_eq!(
            row::<AnalysisKind>(),
            ("analyses", "analysis", T::Analysis, None)
        );
    }

    #[test]
    fn name_is_the_container_type_wire_value() {
        fn check<K: ContainerKind>() {
            assert_eq!(K::TYPE.as_str(), K::NAME);
        }
        check::<GroupKind>();
        check::<ProjectKind>();
        check::<SubjectKind>();
        check::<SessionKind>();
        check::<AcquisitionKind>();
        check::<AnalysisKind>();
    }

    #[test]
    fn id_reads_the_wire_id_or_none() {
        let group: Group = serde_json::from_str(r#"{"_id": "grp1", "label": "G"}"#).unwrap();
        assert_eq!(GroupKind::id(&group), Some("grp1"));
        let session: Session =
            serde_json::from_str(r#"{"_id": "650000000000000000000003"}"#).unwrap();
        assert_eq!(SessionKind::id(&session), Some("650000000000000000000003"));
        assert_eq!(AcquisitionKind::id(&Acquisition::default()), None);
        let analysis: Analysis =
            serde_json::from_str(r#"{"_id": "650000000000000000000009"}"#).unwrap();
        assert_eq!(
            AnalysisKind::id(&analysis),
            Some("650000000000000000000009")
        );
    }

    #[test]
    fn parent_of_and_has_files_hold_for_the_finder_pairs() {
        // Compile-time facts made visible: each pair must satisfy the bound.
        fn child<P: ParentOf<C>, C: ContainerKind>() -> (&'static str, &'static str) {
            (P::NAME, C::COLLECTION)
        }
        fn files<K: HasFiles>() -> &'static str {
            K::COLLECTION
        }
        assert_eq!(
            [
                child::<GroupKind, ProjectKind>(),
                child::<ProjectKind, SubjectKind>(),
                child::<ProjectKind, SessionKind>(),
                child::<SubjectKind, SessionKind>(),
                child::<SessionKind, AcquisitionKind>(),
            ],
            [
                ("group", "projects"),
                ("project", "subjects"),
                ("project", "sessions"),
                ("subject", "sessions"),
                ("session", "acquisitions"),
            ]
        );
        assert_eq!(
            [
                files::<ProjectKind>(),
                files::<SubjectKind>(),
                files::<SessionKind>(),
                files::<AcquisitionKind>(),
                files::<AnalysisKind>(),
            ],
            [
                "projects",
                "subjects",
                "sessions",
                "acquisitions",
                "analyses"
            ]
        );
    }
}

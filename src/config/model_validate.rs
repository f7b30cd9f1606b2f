//! Second half of model loading: the cross-field rules of one model (DESIGN §5). Applies the
//! model-level `encryption.fields` and the mixin columns, then checks that everything a model
//! names exists and that nothing contradicts itself. Each failure points at the node to fix.

use super::model::{ColumnDef, ModelDef};
use super::model_parse::{ColumnAt, Draft, EncryptionDraft};
use super::yaml_locate::{PathError, YamlPath};

/// Finishes a draft into a validated model: the model-level settings applied first (they
/// change which columns are encrypted and which exist), then every cross-reference checked.
pub(crate) fn finish(draft: Draft) -> Result<ModelDef, PathError> {
    let Draft {
        mut def,
        name_at,
        columns_at,
        encryption,
        indexes_at,
        owner_column_at,
        gdpr_user_field_at,
        gdpr_export_at,
    } = draft;
    check_duplicate_columns(&def, &columns_at)?;
    if let Some(enc) = &encryption {
        apply_model_encryption(&mut def, &columns_at, enc)?;
    }
    check_primary_key(
        &def,
        &name_at,
        &columns_at,
        encryption.as_ref().map(|e| &e.fields[..]),
    )?;
    add_mixin_columns(&mut def);
    check_blind_indexes(&def, &columns_at)?;
    check_indexes(&def, &indexes_at)?;
    check_owner_column(&def, &name_at, owner_column_at.as_ref())?;
    check_gdpr_fields(&def, gdpr_user_field_at.as_ref(), &gdpr_export_at)?;
    Ok(def)
}

/// Duplicate columns (case-insensitive: MySQL and unquoted PostgreSQL names fold case).
fn check_duplicate_columns(def: &ModelDef, columns_at: &[ColumnAt]) -> Result<(), PathError> {
    let model = &def.name;
    for (i, column) in def.columns.iter().enumerate() {
        if let Some(first) = def.columns[..i]
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(&column.name))
        {
            return Err(PathError::new(
                &columns_at[i].name,
                format!("duplicate column {:?} in model {model}", column.name),
            )
            .with_related("first declared at", &columns_at[first].name));
        }
    }
    Ok(())
}

/// Model-level encryption: `encryption.fields` marks those columns encrypted; a disabled
/// block contradicts any column that still says `encrypted: true`.
fn apply_model_encryption(
    def: &mut ModelDef,
    columns_at: &[ColumnAt],
    enc: &EncryptionDraft,
) -> Result<(), PathError> {
    let model = def.name.clone();
    for (field, at) in &enc.fields {
        let Some(column) = def.columns.iter_mut().find(|c| &c.name == field) else {
            return Err(PathError::new(
                at,
                format!(
                    "encryption.fields of model {model} names {field:?}, which is not a column of {model}"
                ),
            ));
        };
        if enc.enabled {
            column.encrypted = true;
        }
    }
    if enc.enabled {
        return Ok(());
    }
    let Some(i) = def.columns.iter().position(|c| c.encrypted) else {
        return Ok(());
    };
    let at = columns_at[i]
        .encrypted
        .as_ref()
        .unwrap_or(&columns_at[i].name);
    let mut err = PathError::new(
        at,
        format!(
            "column {model}.{} is encrypted: true but the model's encryption.enabled is false",
            def.columns[i].name
        ),
    );
    if let Some(enabled_at) = &enc.enabled_at {
        err = err.with_related("disabled at", enabled_at);
    }
    Err(err)
}

/// Mixin columns, after the declared ones, unless the model declares them itself.
fn add_mixin_columns(def: &mut ModelDef) {
    for mixin in def.mixins.clone() {
        for (name, ty) in mixin.added_columns() {
            if def.column(name).is_none() {
                def.columns.push(ColumnDef {
                    name: name.to_string(),
                    ty,
                    primary_key: false,
                    nullable: true,
                    encrypted: false,
                    indexed: false,
                    unique: false,
                    default: None,
                    foreign_key: None,
                    blind_index: None,
                    from_mixin: true,
                });
            }
        }
    }
}

/// A blind index names another, plain column of the model, and sits on an encrypted one.
fn check_blind_indexes(def: &ModelDef, columns_at: &[ColumnAt]) -> Result<(), PathError> {
    let model = &def.name;
    for (i, at) in columns_at.iter().enumerate() {
        let column = &def.columns[i];
        let (Some(target), Some(target_at)) = (&column.blind_index, &at.blind_index) else {
            continue;
        };
        let field = format!("{model}.{}", column.name);
        let problem = match def.column(target) {
            None => Some(format!(
                "blind_index of {field} names {target:?}, which is not a column of {model}"
            )),
            Some(_) if target == &column.name => {
                Some(format!("blind_index of {field} names the column itself"))
            }
            Some(t) if t.encrypted => Some(format!(
                "blind_index of {field} names {target:?}, which is encrypted; the hash column must be plain"
            )),
            Some(_) if !column.encrypted => Some(format!(
                "blind_index is set on {field}, which is not encrypted; a blind index belongs to an encrypted column"
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(PathError::new(target_at, problem));
        }
    }
    Ok(())
}

/// Every column an index names exists.
fn check_indexes(def: &ModelDef, indexes_at: &[Vec<YamlPath>]) -> Result<(), PathError> {
    let model = &def.name;
    for (index, ats) in def.indexes.iter().zip(indexes_at) {
        for (column, at) in index.columns.iter().zip(ats) {
            if def.column(column).is_none() {
                return Err(PathError::new(
                    at,
                    format!(
                        "index of model {model} names {column:?}, which is not a column of {model}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The owner column exists when named, and whenever keys are derived per user.
fn check_owner_column(
    def: &ModelDef,
    name_at: &YamlPath,
    owner_column_at: Option<&YamlPath>,
) -> Result<(), PathError> {
    let model = &def.name;
    if let Some(at) = owner_column_at
        && def.column(&def.owner_column).is_none()
    {
        return Err(PathError::new(
            at,
            format!(
                "owner_column {:?} of model {model} is not a column of {model}",
                def.owner_column
            ),
        ));
    }
    if def.encryption.per_user && def.column(&def.owner_column).is_none() {
        let at = owner_column_at.unwrap_or(name_at);
        return Err(PathError::new(
            at,
            format!(
                "model {model} uses per_user encryption but has no owner column {:?} (set owner_column)",
                def.owner_column
            ),
        ));
    }
    Ok(())
}

/// The GDPR fields (`user_field`, `export_fields`) name columns of the model.
fn check_gdpr_fields(
    def: &ModelDef,
    user_field_at: Option<&YamlPath>,
    export_at: &[YamlPath],
) -> Result<(), PathError> {
    let model = &def.name;
    let Some(gdpr) = &def.gdpr else {
        return Ok(());
    };
    let named = gdpr
        .user_field
        .iter()
        .zip(user_field_at)
        .map(|(f, at)| ("gdpr.user_field", f, at));
    let exports = gdpr
        .export_fields
        .iter()
        .zip(export_at)
        .map(|(f, at)| ("gdpr.export_fields", f, at));
    for (key, field, at) in named.chain(exports) {
        if def.column(field).is_none() {
            return Err(PathError::new(
                at,
                format!("{key} of model {model} names {field:?}, which is not a column of {model}"),
            ));
        }
    }
    Ok(())
}

/// Exactly one primary key (composite keys are out of scope: rotation pages by one key),
/// never nullable, never encrypted (rows are found and compared by it).
fn check_primary_key(
    def: &ModelDef,
    name_at: &YamlPath,
    columns_at: &[ColumnAt],
    encryption_fields: Option<&[(String, YamlPath)]>,
) -> Result<(), PathError> {
    let model = &def.name;
    let declared = &def.columns[..columns_at.len()];
    let keys: Vec<usize> = declared
        .iter()
        .enumerate()
        .filter(|(_, c)| c.primary_key)
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = keys.first() else {
        return Err(PathError::new(
            name_at,
            format!("model {model} has no primary key; mark one column with primary_key: true"),
        ));
    };
    if let Some(&second) = keys.get(1) {
        let at = columns_at[second]
            .primary_key
            .as_ref()
            .unwrap_or(&columns_at[second].name);
        return Err(PathError::new(
            at,
            format!(
                "model {model} has more than one primary key ({} and {}); composite primary keys are not supported",
                declared[first].name, declared[second].name
            ),
        ));
    }
    let pk = &declared[first];
    if pk.nullable {
        let at = columns_at[first]
            .nullable
            .as_ref()
            .unwrap_or(&columns_at[first].name);
        return Err(PathError::new(
            at,
            format!("primary key {model}.{} cannot be nullable", pk.name),
        ));
    }
    if pk.encrypted {
        let via_fields = encryption_fields.and_then(|f| f.iter().find(|(n, _)| n == &pk.name));
        let at = match (via_fields, &columns_at[first].encrypted) {
            (Some((_, at)), _) => at,
            (None, Some(at)) => at,
            (None, None) => &columns_at[first].name,
        };
        return Err(PathError::new(
            at,
            format!(
                "primary key {model}.{} cannot be encrypted; rows are found by it",
                pk.name
            ),
        ));
    }
    Ok(())
}

{#- The block index: every blocking key of every record, kept between builds so that a day's
    build keys only the records resolved since the last one and reads the rest from here
    instead of keying a million records again. The rules and their keys are in
    identity_blocking_rules(). Incremental: the keys of new or changed records replace their
    old keys (the post-hook also deletes the old keys of a record that has none now) and a
    deleted record's keys are deleted.
    One row per record and blocking rule that gives the record a key. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key='record_key',
    post_hook=[
        "{{ delete_rows_of_records_resolved_again(ref('int_identity__record_features'), ['record_key']) }}",
        "{{ delete_rows_of_records_gone(ref('int_identity__record_features'), ['record_key']) }}",
    ],
) }}
with features as {{ inlined_cte() }} (
    select * from {{ ref('int_identity__record_features') }}
    {% if is_incremental() %}where {{ resolved_since_last_build('resolved_at') }}{% endif %}
),

{#- stamped with this build, not the features' build: the post-hook takes this model's newest row
    before this build for its last build, and a build catching up on features resolved by an
    earlier one that stopped after them would otherwise stamp its rows with that earlier build,
    and leave the old keys of a record that has none now. -#}
keyed as (
    {% for rule, key in identity_blocking_rules().items() %}
    select record_key, is_business, '{{ rule }}' as blocking_rule, {{ key }} as block_key,
        {{ resolved_at() }} as resolved_at
    from features
    where {{ key }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select * from keyed
)

select * from final

{#- Which customers an email address reaches: the email matching key (gmail dots removed) of
    every source record with an email. An address shared by a household reaches each of its
    customers. One row per email key and customer. -#}
with records as (select * from {{ ref('int_identity__source_records') }}),
identities as (select * from {{ ref('int_identity__customers') }}),

final as (
    select distinct records.email_key, identities.customer_id
    from records
    inner join identities on records.record_key = identities.record_key
    where records.email_key is not null
)

select * from final

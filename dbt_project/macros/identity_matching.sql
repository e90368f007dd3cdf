{#- Pieces of probabilistic record linkage (models/intermediate/identity, docs/identity.md).
    Engine-specific functions go through adapter.dispatch so the same models build on Spark. -#}

{#- Jaro-Winkler similarity in [0, 1]: DuckDB's jaro_winkler_similarity, and on Spark, which
    has none, the same computation in higher-order functions (spark__string_similarity). -#}
{% macro string_similarity(a, b) -%}
    {{ return(adapter.dispatch('string_similarity')(a, b)) }}
{%- endmacro %}
{% macro duckdb__string_similarity(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}
{#- DuckDB's Jaro-Winkler, to the last bit (a name's level must not differ between engines;
    tests/test_identity_similarity.py compares the two on every kind of name the simulator makes):
    - Jaro over code points: each character of a, in order, takes the first unused equal
      character of b within max(len) / 2 - 1 places; with m such matches and t half the
      matched characters out of order (rounded down), ((m / |a| + m / |b|) + (m - t) / m) / 3;
      0 when either is empty or nothing matches;
    - above 0.7, plus the common prefix (at most 4) x 0.1 x (1 - jaro). DuckDB's compiled
      code fuses that multiply-add into one rounding (an FMA), so it is emulated here exactly:
      the product's rounding error by Dekker's split, the sum's by Knuth's two-sum.
    Each transform over a one-element array names a value once for the steps after it. -#}
{% macro spark__string_similarity(a, b) -%}
transform(array(named_struct('s1', {{ a }}, 's2', {{ b }})), pair ->
    case when length(pair.s1) = 0 or length(pair.s2) = 0 then cast(0 as double) else
    transform(array(named_struct(
        'l1', length(pair.s1), 'l2', length(pair.s2),
        'window', greatest(0, greatest(length(pair.s1), length(pair.s2)) div 2 - 1))), size ->
    transform(array(aggregate(
        sequence(1, size.l1),
        named_struct('used', array_repeat(false, size.l2), 'common', cast(array() as array<string>)),
        (state, i) -> transform(array(named_struct(
            'low', greatest(1, i - size.window), 'high', least(size.l2, i + size.window))), span ->
            transform(array(case when span.low > span.high then 0 else array_position(
                transform(sequence(span.low, span.high),
                    j -> not state.used[j - 1] and substr(pair.s2, j, 1) = substr(pair.s1, i, 1)),
                true) end), found ->
                case when found = 0 then state else named_struct(
                    'used', transform(state.used, (is_used, x) -> is_used or x = span.low + found - 2),
                    'common', concat(state.common, array(substr(pair.s1, i, 1)))) end)[0])[0]
    )), matched ->
    case when size(matched.common) = 0 then cast(0 as double) else
    transform(array(named_struct(
        'm', cast(size(matched.common) as double),
        't', size(filter(
            zip_with(
                matched.common,
                filter(transform(sequence(1, size.l2),
                    j -> case when matched.used[j - 1] then substr(pair.s2, j, 1) end),
                    c -> c is not null),
                (x, y) -> x != y),
            is_out_of_order -> is_out_of_order)) div 2)), counts ->
    transform(array((counts.m / size.l1 + counts.m / size.l2 + (counts.m - counts.t) / counts.m)
        / cast(3 as double)), jaro ->
    case when jaro <= 0.7 then jaro else
    transform(array(named_struct(
        'a', cast(coalesce(nullif(array_position(
            transform(sequence(1, least(4, size.l1, size.l2)),
                k -> substr(pair.s1, k, 1) != substr(pair.s2, k, 1)),
            true), 0) - 1, least(4, size.l1, size.l2)) as double) * cast(0.1 as double),
        'b', cast(1 as double) - jaro)), fma ->
    transform(array(named_struct(
        'product', fma.a * fma.b,
        'a_high', cast(134217729 as double) * fma.a - (cast(134217729 as double) * fma.a - fma.a),
        'b_high', cast(134217729 as double) * fma.b - (cast(134217729 as double) * fma.b - fma.b))),
        split ->
    transform(array(named_struct(
        'product_error', ((split.a_high * split.b_high - split.product)
            + split.a_high * (fma.b - split.b_high) + (fma.a - split.a_high) * split.b_high)
            + (fma.a - split.a_high) * (fma.b - split.b_high),
        'total', split.product + jaro)), sum ->
    sum.total + (((split.product - (sum.total - (sum.total - split.product)))
        + (jaro - (sum.total - split.product))) + sum.product_error)
    )[0])[0])[0] end)[0])[0] end)[0])[0] end)[0]
{%- endmacro %}

{#- True when the text is written in Chinese characters only (no word breaks between family and
    given name). -#}
{% macro is_han_script(expression) -%}
    {{ return(adapter.dispatch('is_han_script')(expression)) }}
{%- endmacro %}
{% macro default__is_han_script(expression) -%}
    ({{ expression }} rlike '^\\p{IsHan}+$')
{%- endmacro %}
{% macro duckdb__is_han_script(expression) -%}
    regexp_full_match({{ expression }}, '\p{Han}+')
{%- endmacro %}

{#- A name as matching tokens: lower case, accents stripped, punctuation removed in any script,
    'Family, Given' turned into 'Given Family', patronymic particles dropped. Unlike name_key it
    keeps non-Latin letters, which the name-variants seed maps to their Latin canonical form. -#}
{% macro name_tokens(column) -%}
    {%- set reordered = given_first(column) -%}
    {%- set folded = "replace(lower(" ~ strip_accents(reordered) ~ "), 'ł', 'l')" -%}
    {%- set letters = regex_replace_all(folded, "[^\\p{L}\\p{N} ]", "") -%}
    {#- patronymic particles (Wulandari binti Budi) are not names: swapped fields move them -#}
    {%- set words = "replace(replace(" ~ dbt.concat(["' '", regex_replace_all(letters, " +", " "), "' '"])
        ~ ", ' binti ', ' '), ' bin ', ' ')" -%}
    nullif(trim({{ words }}), '')
{%- endmacro %}

{#- Word n (1-based; -1 = last) of a space-separated text, null when there is no such word. -#}
{% macro word(text, n) -%}
    nullif({{ dbt.split_part(text, "' '", n) }}, '')
{%- endmacro %}

{#- Fellegi-Sunter m probabilities by expectation-maximisation over comparison patterns, with
    the u probabilities held fixed (they come from random pairs). `patterns`: one row per
    distinct comparison vector (pattern_id, pair_count); `levels`: one row per (pattern_id,
    comparison, level), nulls left out; `u`: (comparison, level, u_probability); `start`:
    (comparison, level, m_probability) to begin with. Renders CTEs <prefix>_m_<i> (comparison,
    level, m_probability, match_share: the share of the patterns' pairs that are matches),
    finally <prefix>_m and <prefix>_share.
    Each iteration reads the one before it once: Spark inlines a CTE read twice, so an m and a
    share that both read the posterior the next posterior reads would double the plan with
    every iteration. The share is worked out beside m (from a pseudo comparison every pattern
    has one level of) and carried on every m row. -#}
{% macro em_iterations(prefix, patterns, levels, u, start, iterations) -%}
{{ prefix }}_m_0 as (select comparison, level, m_probability, 0.5 as match_share from {{ start }}),
{% for i in range(1, iterations + 1) %}
{{ prefix }}_posterior_{{ i }} as (
    select
        patterns.pattern_id,
        patterns.pair_count,
        1.0 / (1.0 + exp(
            ln((1 - max(m.match_share)) / max(m.match_share))
            + sum(ln(u.u_probability)) - sum(ln(greatest(m.m_probability, 1e-9)))
        )) as match_probability
    from {{ patterns }} as patterns
    inner join {{ levels }} as levels on patterns.pattern_id = levels.pattern_id
    inner join {{ u }} as u on levels.comparison = u.comparison and levels.level = u.level
    inner join {{ prefix }}_m_{{ i - 1 }} as m
        on levels.comparison = m.comparison and levels.level = m.level
    group by patterns.pattern_id, patterns.pair_count
),
{{ prefix }}_m_{{ i }} as (
    select comparison, level, m_probability, match_share
    from (
        select
            comparison,
            level,
            m_probability,
            max(pseudo_share) over () as match_share
        from (
            select
                levels.comparison,
                levels.level,
                sum(posterior.pair_count * posterior.match_probability)
                    / sum(sum(posterior.pair_count * posterior.match_probability))
                        over (partition by levels.comparison) as m_probability,
                case when levels.comparison = '_match_share' then least(greatest(
                    sum(posterior.pair_count * posterior.match_probability)
                        / sum(posterior.pair_count), 1e-6), 1 - 1e-6) end as pseudo_share
            from {{ prefix }}_posterior_{{ i }} as posterior
            inner join (
                select pattern_id, comparison, level from {{ levels }}
                union all
                select pattern_id, '_match_share', 0 from {{ patterns }}
            ) as levels on posterior.pattern_id = levels.pattern_id
            group by levels.comparison, levels.level
        ) as estimated
    ) as shared
    where comparison <> '_match_share'
),
{% endfor %}
{{ prefix }}_m as (select comparison, level, m_probability from {{ prefix }}_m_{{ iterations }}),
{{ prefix }}_share as (select max(match_share) as match_share from {{ prefix }}_m_{{ iterations }})
{%- endmacro %}

{#- The comparisons of the Fellegi-Sunter model and their top level; level 0 = disagree, null =
    a value missing on either side (no evidence either way). -#}
{% macro identity_comparisons() -%}
    {{ return({
        'name': 4, 'email': 2, 'phone': 1, 'birth_date': 2, 'postcode': 1, 'city': 1,
        'company_name': 2, 'tax_id': 1,
    }) }}
{%- endmacro %}

{#- Name level from the similarity of the given names and of the family names: 3 typos (one part
    exact and the other close, or both very close), 2 the family name only (a household), 1 the
    given name only (a name change, or namesakes by first name), 0 neither. -#}
{% macro name_level(given_similarity, family_similarity) -%}
    {%- set threshold = var('identity_similarity_threshold') -%}
    case
        when ({{ given_similarity }} = 1 and {{ family_similarity }} >= 0.8)
            or ({{ family_similarity }} = 1 and {{ given_similarity }} >= {{ threshold }})
            or ({{ given_similarity }} >= 0.92 and {{ family_similarity }} >= 0.92) then 3
        when {{ family_similarity }} >= {{ threshold }} then 2
        when {{ given_similarity }} >= {{ threshold }} then 1
        else 0
    end
{%- endmacro %}

{#- The comparison vector of two records `l` and `r` of int_identity__record_features: one
    column gamma_<comparison> per comparison. Names compare order-insensitively (the better of
    given/family straight or swapped). Emails compare exactly or by their canonical key only:
    addresses are built from names, so similar addresses of namesakes say nothing more than
    the names do. The name similarities come from name_similarities, rendered after the
    pair's join. -#}
{% macro comparison_vector(l, r) -%}
    {%- set threshold = var('identity_similarity_threshold') -%}
    case
        when {{ l }}.given_std is null or {{ r }}.given_std is null then null
        when {{ l }}.name_std = {{ r }}.name_std then 4
        when {{ l }}.family_std is null or {{ r }}.family_std is null then 0
        {#- the names as written, unless swapped they nearly agree (family name first): not the
            order with the higher similarity sum, by which a name change (same given name, new
            family name: level 1) lost to two half-similar halves swapped (level 0), and not
            the higher level, which is not an order (2, another given name, is a conflict) #}
        when {{ name_level('name_similarities.given_family', 'name_similarities.family_given') }} = 3 then 3
        else {{ name_level('name_similarities.given_given', 'name_similarities.family_family') }}
    end as gamma_name,
    case
        when {{ l }}.email is null or {{ r }}.email is null then null
        when {{ l }}.email = {{ r }}.email then 2
        when {{ l }}.email_key = {{ r }}.email_key then 1
        else 0
    end as gamma_email,
    case
        when {{ l }}.phone is null or {{ r }}.phone is null then null
        when {{ l }}.phone = {{ r }}.phone then 1
        else 0
    end as gamma_phone,
    case
        when {{ l }}.birth_date is null or {{ r }}.birth_date is null then null
        when {{ l }}.birth_date = {{ r }}.birth_date then 2
        when year({{ l }}.birth_date) = year({{ r }}.birth_date)
            or (month({{ l }}.birth_date) = month({{ r }}.birth_date)
                and day({{ l }}.birth_date) = day({{ r }}.birth_date)) then 1
        else 0
    end as gamma_birth_date,
    case
        when {{ l }}.postcode_key is null or {{ r }}.postcode_key is null then null
        when {{ l }}.postcode_key = {{ r }}.postcode_key then 1
        else 0
    end as gamma_postcode,
    case
        when {{ l }}.city_key is null or {{ r }}.city_key is null then null
        when {{ l }}.city_key = {{ r }}.city_key then 1
        else 0
    end as gamma_city,
    case
        when {{ l }}.company_key is null or {{ r }}.company_key is null then null
        when {{ l }}.company_key = {{ r }}.company_key then 2
        when {{ string_similarity(l ~ '.company_key', r ~ '.company_key') }} >= {{ threshold }} then 1
        else 0
    end as gamma_company_name,
    case
        when {{ l }}.tax_id is null or {{ r }}.tax_id is null then null
        when {{ l }}.tax_id = {{ r }}.tax_id then 1
        else 0
    end as gamma_tax_id
{%- endmacro %}

{#- The similarities of two records' name parts, straight and swapped, worked out once per pair:
    comparison_vector reads each several times (name_level). A lateral subquery rendered after
    the pair's join, its alias `name_similarities`. Without it DuckDB worked each call out in
    every branch of a case that read it (a third of the u probabilities' time at 100,000
    customers), and Spark planned every copy of the similarity expressions. -#}
{% macro name_similarities(l, r) -%}
cross join lateral (
    select
        {%- for l_part, r_part in [('given', 'given'), ('family', 'family'), ('given', 'family'), ('family', 'given')] %}
        {{ string_similarity(l ~ '.' ~ l_part ~ '_std', r ~ '.' ~ r_part ~ '_std') }} as {{ l_part }}_{{ r_part }}{% if not loop.last %},{% endif %}
        {%- endfor %}
) as name_similarities
{%- endmacro %}

{#- The rules a link of int_identity__links is made by (match_rule; its accepted_values test
    lists the same): int_identity__clusters' matched_on is made of them. -#}
{% macro identity_match_rules() -%}
    {{ return(['probabilistic', 'tax_id', 'group', 'override']) }}
{%- endmacro %}

{#- '<system>:<entity>' of the customer-like sources that keep one record per customer: their
    contracts' identity blocks say `deduplicated: true`. -#}
{% macro deduplicated_sources() -%}
    {%- set keys = [] -%}
    {%- for source in identity_sources() if source.deduplicated -%}
        {%- do keys.append(source.system ~ ':' ~ source.entity) -%}
    {%- endfor -%}
    {{ return(keys | unique | list) }}
{%- endmacro %}

{#- The blocking rules of int_identity__record_blocks: rule name -> the key expression over
    int_identity__record_features (null: no key for that rule). The name-and-postcode rules
    also pair typos in one name part. -#}
{% macro identity_blocking_rules() -%}
    {{ return({
        'email': 'email_key',
        'phone': 'phone',
        'tax_id': 'tax_id',
        'company_name': 'company_key',
        'name_and_postcode': dbt.concat(['name_std', "'|'", 'postcode_key']),
        'name_and_birth_date': dbt.concat(['name_std', "'|'", dbt.safe_cast('birth_date', dbt.type_string())]),
        'family_name_and_birth_date': dbt.concat(['family_std', "'|'", dbt.safe_cast('birth_date', dbt.type_string())]),
        'given_name_and_postcode': dbt.concat(['given_std', "'|'", 'postcode_key']),
        'family_name_and_postcode': dbt.concat(['family_std', "'|'", 'postcode_key']),
        'rare_full_name': "case when family_std is not null then name_std end",
    }) }}
{%- endmacro %}

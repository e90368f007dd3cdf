{#- Could two person records' names (part: 'given' or 'family') belong to the same person?
    Yes when one's name part is a word of the other's full name (swapped first/last names), one
    contains the other (Magda / Magdalena, Lisa / Elisabeth), they share their first three
    letters (Andi / Andreas, Jenny / Jennifer) or they are within two edits (typos, Sue / Susan).
    Household partners (Peter / Lena) or namesakes at different companies are not. -#}
{% macro names_compatible(a, b, part) -%}
    {%- set x = a ~ '.' ~ part ~ '_name_key' -%}
    {%- set y = b ~ '.' ~ part ~ '_name_key' -%}
    (
        {{ dbt.position(dbt.concat(["' '", x, "' '"]), dbt.concat(["' '", b ~ ".name_key", "' '"])) }} > 0
        or {{ dbt.position(dbt.concat(["' '", y, "' '"]), dbt.concat(["' '", a ~ ".name_key", "' '"])) }} > 0
        or (length({{ x }}) >= 3 and {{ dbt.position(x, y) }} > 0)
        or (length({{ y }}) >= 3 and {{ dbt.position(y, x) }} > 0)
        or (length({{ x }}) >= 3 and length({{ y }}) >= 3 and substr({{ x }}, 1, 3) = substr({{ y }}, 1, 3))
        or levenshtein({{ x }}, {{ y }}) <= 2
    )
{%- endmacro %}


{#- A role mailbox (info@, office@, sales@ …) is read by whoever staffs it: colleagues, or
    namesakes at different companies, share it. It identifies no person, so no link is made on
    it. -#}
{% macro is_role_mailbox(email) -%}
    {{ dbt.split_part(email, "'@'", 1) }} in (
        'info', 'office', 'contact', 'sales', 'hello', 'admin', 'mail', 'service', 'support',
        'team', 'accounts', 'billing', 'invoices', 'orders', 'kontakt', 'buero', 'post'
    )
{%- endmacro %}

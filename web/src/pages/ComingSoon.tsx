import { Empty, PageHeader } from "../components/States.tsx";

export function ComingSoon({ title }: { title: string }) {
  return (
    <>
      <PageHeader title={title} />
      <Empty>{title} — coming soon.</Empty>
    </>
  );
}

export function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <Empty>There is no page at this address.</Empty>
    </>
  );
}
